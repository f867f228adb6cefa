/** JSON value types shared by the model (metadata, Struct) and the wire decoders. */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object (what a Struct holds). */
export type JsonObject = { [key: string]: JsonValue };
