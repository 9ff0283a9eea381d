// Gatehouse as an OpenID provider, as far as it is one: it issues ID tokens (token endpoint,
// CLI) and signs the IAP assertion, all verifiable against its JWKS. Served at
// GET /.well-known/openid-configuration (DESIGN.md §6 "Keys").
import { SIGNING_ALG } from "./keys";

export const JWKS_PATH = "/.well-known/jwks.json";
export const OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration";
export const TOKEN_ENDPOINT_PATH = "/api/v1/token";
export const JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";

export function tokenEndpointUrl(publicUrl: string): string {
  return publicUrl.replace(/\/$/, "") + TOKEN_ENDPOINT_PATH;
}

export interface OpenIdConfiguration {
  issuer: string;
  jwks_uri: string;
  token_endpoint: string;
  id_token_signing_alg_values_supported: string[];
  response_types_supported: string[];
  subject_types_supported: string[];
  grant_types_supported: string[];
}

/** The discovery document; `publicUrl` is GATEHOUSE_PUBLIC_URL (the issuer). */
export function openidConfiguration(publicUrl: string): OpenIdConfiguration {
  const issuer = publicUrl.replace(/\/$/, "");
  return {
    issuer,
    jwks_uri: issuer + JWKS_PATH,
    token_endpoint: tokenEndpointUrl(issuer),
    id_token_signing_alg_values_supported: [SIGNING_ALG],
    response_types_supported: ["id_token"],
    subject_types_supported: ["public"],
    grant_types_supported: [JWT_BEARER_GRANT_TYPE],
  };
}
