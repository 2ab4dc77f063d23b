package idp

// Scopes the provider knows (Solid-OIDC §6: webid; OpenID Connect Core
// §3.1.2.1 and §11: openid, offline_access).
const (
	ScopeOpenID        = "openid"
	ScopeWebID         = "webid"
	ScopeOfflineAccess = "offline_access"
)

// Grant types (RFC 6749 §4.1, §4.4, §6).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Client authentication methods at the token endpoint (RFC 7591 §2).
const (
	AuthNone              = "none"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
)

// SolidOIDC is the value of solid_oidc_supported.
const SolidOIDC = "https://solidproject.org/TR/solid-oidc"

// dpopAlgs are the DPoP proof algorithms accepted (RFC 9449 §5.1: asymmetric
// only).
func dpopAlgs() []string { return []string{"ES256", "ES384", "PS256", "RS256", "EdDSA"} }

// idTokenAlgs are the ID token signing algorithms: OpenID Connect
// Discovery 1.0 §3 says id_token_signing_alg_values_supported "MUST
// include RS256". ES256 comes first as the default.
func idTokenAlgs() []string {
	algs := make([]string, 0, len(signingAlgs))
	for _, a := range signingAlgs {
		algs = append(algs, string(a))
	}
	return algs
}

// Metadata is the provider's discovery document (OpenID Connect Discovery
// 1.0 §3, RFC 8414 §2, RFC 9449 §5.1, RFC 9207 §3, Solid-OIDC §9).
type Metadata struct {
	Issuer                                   string   `json:"issuer"`
	AuthorizationEndpoint                    string   `json:"authorization_endpoint"`
	TokenEndpoint                            string   `json:"token_endpoint"`
	RegistrationEndpoint                     string   `json:"registration_endpoint"`
	JWKSURI                                  string   `json:"jwks_uri"`
	EndSessionEndpoint                       string   `json:"end_session_endpoint"`
	RevocationEndpoint                       string   `json:"revocation_endpoint"`
	ScopesSupported                          []string `json:"scopes_supported"`
	ResponseTypesSupported                   []string `json:"response_types_supported"`
	ResponseModesSupported                   []string `json:"response_modes_supported"`
	GrantTypesSupported                      []string `json:"grant_types_supported"`
	SubjectTypesSupported                    []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported         []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported        []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported   []string `json:"revocation_endpoint_auth_methods_supported"`
	DPoPSigningAlgValuesSupported            []string `json:"dpop_signing_alg_values_supported"`
	CodeChallengeMethodsSupported            []string `json:"code_challenge_methods_supported"`
	ClaimsSupported                          []string `json:"claims_supported"`
	PromptValuesSupported                    []string `json:"prompt_values_supported"`
	ClaimsParameterSupported                 bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported             bool     `json:"request_uri_parameter_supported"`
	AuthorizationResponseIssParameterSupport bool     `json:"authorization_response_iss_parameter_supported"`
	SolidOIDCSupported                       string   `json:"solid_oidc_supported"`
}

// Metadata returns the discovery document.
func (p *Provider) Metadata() Metadata {
	auth := []string{AuthNone, AuthClientSecretBasic, AuthClientSecretPost}
	return Metadata{
		Issuer:                                 p.issuer,
		AuthorizationEndpoint:                  p.endpoint.authorize,
		TokenEndpoint:                          p.endpoint.token,
		RegistrationEndpoint:                   p.endpoint.registration,
		JWKSURI:                                p.endpoint.jwks,
		EndSessionEndpoint:                     p.endpoint.endSession,
		RevocationEndpoint:                     p.endpoint.revocation,
		ScopesSupported:                        []string{ScopeOpenID, ScopeWebID, ScopeOfflineAccess},
		ResponseTypesSupported:                 []string{"code"},
		ResponseModesSupported:                 []string{"query"},
		GrantTypesSupported:                    []string{GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials},
		SubjectTypesSupported:                  []string{"public"},
		IDTokenSigningAlgValuesSupported:       idTokenAlgs(),
		TokenEndpointAuthMethodsSupported:      auth,
		RevocationEndpointAuthMethodsSupported: auth,
		DPoPSigningAlgValuesSupported:          dpopAlgs(),
		CodeChallengeMethodsSupported:          []string{"S256"},
		ClaimsSupported: []string{"iss", "sub", "aud", "azp", "webid", "client_id", "iat", "exp",
			"auth_time", "nonce", "cnf", "jti", "scope", "at_hash"},
		PromptValuesSupported:                    []string{"none", "consent"},
		AuthorizationResponseIssParameterSupport: true,
		SolidOIDCSupported:                       SolidOIDC,
	}
}
