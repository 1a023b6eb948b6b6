/**
 * Listener attribute keys (`ListenerAttributes` of an HTTPS listener) that make the ALB add a
 * response header, by the header they add, and the one that removes its `Server` header
 * (docs/alb-behaviour.md §19).
 */
export const RESPONSE_HEADER_ATTRIBUTES = {
  'Strict-Transport-Security': 'routing.http.response.strict_transport_security.header_value',
  'X-Content-Type-Options': 'routing.http.response.x_content_type_options.header_value',
  'X-Frame-Options': 'routing.http.response.x_frame_options.header_value',
  'Content-Security-Policy': 'routing.http.response.content_security_policy.header_value',
  'Access-Control-Allow-Origin': 'routing.http.response.access_control_allow_origin.header_value',
  'Access-Control-Allow-Methods': 'routing.http.response.access_control_allow_methods.header_value',
  'Access-Control-Allow-Headers': 'routing.http.response.access_control_allow_headers.header_value',
  'Access-Control-Allow-Credentials': 'routing.http.response.access_control_allow_credentials.header_value',
  'Access-Control-Expose-Headers': 'routing.http.response.access_control_expose_headers.header_value',
  'Access-Control-Max-Age': 'routing.http.response.access_control_max_age.header_value',
} as const;
export type InjectedResponseHeader = keyof typeof RESPONSE_HEADER_ATTRIBUTES;

/** `false` removes the ALB's `Server: awselb/2.0` response header; absent means `true`. */
export const SERVER_HEADER_ENABLED_ATTRIBUTE = 'routing.http.response.server.enabled';
