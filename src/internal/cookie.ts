/** Cookie header parsing shared by the hash policy (outbound) and JWT extraction (inbound). */

/**
 * The value of cookie `name` in a Cookie header (`a=1; b="2"`), quotes removed; undefined when absent.
 *
 * @example
 * ```ts
 * cookieValue('session=abc; theme="dark"', 'theme'); // 'dark'
 * ```
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/[;,]/)) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}
