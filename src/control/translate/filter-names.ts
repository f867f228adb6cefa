/** HTTP filter names the generated listeners install and routes configure per filter (Envoy's well-known names). */
export const FAULT_FILTER_NAME = 'envoy.filters.http.fault';
export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';
