package webid

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weconomics/kluis/ldp/rdfx"
)

// proof is what a checked DPoP proof hands on.
type proof struct {
	key [32]byte  // replay cache key: hash of the key's thumbprint and jti
	iat time.Time // the proof's iat

	header string    // the encoded protected header
	pk     *proofKey // its key, checked (pk.jkt: its RFC 7638 thumbprint)
	cached bool      // pk came from proofKeys
}

// proofClaims are the claims of a DPoP proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI string       `json:"jti"`
	HTM string       `json:"htm"`
	HTU string       `json:"htu"`
	IAT *numericDate `json:"iat"`
	ATH *string      `json:"ath"`
}

// maxJTI bounds a proof's jti.
const maxJTI = 256

// minRSABits is the smallest RSA modulus accepted for proofs.
const minRSABits = 2048

// checkProof checks a DPoP proof against the request and the access token
// it comes with (RFC 9449 §4.3), except jti replay, which Verify checks
// last.
func (v *Verifier) checkProof(raw, method, target, accessToken string, now time.Time) (proof, error) {
	bad := func(desc, format string, args ...any) (proof, error) {
		return proof{}, authErr(desc, fmt.Errorf("%w: "+format, append([]any{ErrProof}, args...)...))
	}
	if raw == "" || len(raw) > maxCredential {
		return bad("malformed DPoP proof", "empty or over %d bytes", maxCredential)
	}
	header, payload, pk, cached, err := v.proofJWS(raw)
	if err != nil {
		return proof{}, err
	}
	var c proofClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("malformed DPoP proof claims", "claims: %s", jsonReason(err))
	}
	if c.JTI == "" || len(c.JTI) > maxJTI {
		return bad("DPoP proof jti missing or too long", "jti of %d bytes", len(c.JTI))
	}
	// 4.3 (8): htm is the request method.
	if c.HTM != method {
		return bad("DPoP proof htm does not match the request method", "htm %.20q, method %s", c.HTM, method)
	}
	// 4.3 (9): htu is the request URI, ignoring query and fragment,
	// after syntax- and scheme-based normalisation (RFC 3986 §6.2.2, 6.2.3).
	want, err := normalizeHTU(target)
	if err != nil {
		return bad("request URL cannot be compared", "target: %v", err)
	}
	// §4.2 defines htu "without query and fragment parts"; one that has
	// them was made for another request.
	if strings.ContainsAny(c.HTU, "?#") {
		return bad("DPoP proof htu has a query or fragment", "htu with query or fragment")
	}
	if got, err := normalizeHTU(c.HTU); err != nil || got != want {
		return bad("DPoP proof htu does not match the request URL", "htu differs from %s", want)
	}
	// 4.3 (11): iat within an acceptable window.
	if c.IAT == nil {
		return bad("DPoP proof has no iat", "no iat")
	}
	iat := c.IAT.time()
	if iat.Before(now.Add(-v.cfg.ProofMaxAge)) {
		return proof{}, authErr("DPoP proof is too old", fmt.Errorf("%w: iat %s before %s", ErrProofTime, iat.UTC().Format(time.RFC3339), now.Add(-v.cfg.ProofMaxAge).UTC().Format(time.RFC3339)))
	}
	if iat.After(now.Add(v.cfg.ClockSkew)) {
		return proof{}, authErr("DPoP proof is issued in the future", fmt.Errorf("%w: iat %s after %s", ErrProofTime, iat.UTC().Format(time.RFC3339), now.Add(v.cfg.ClockSkew).UTC().Format(time.RFC3339)))
	}
	// 4.3 (12): ath is the hash of the access token. Solid clients in the
	// wild do not all send it, so it is checked when present.
	if c.ATH != nil {
		sum := sha256.Sum256([]byte(accessToken))
		if *c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return bad("DPoP proof ath does not match the access token", "ath")
		}
	}
	p := proof{iat: iat, header: header, pk: pk, cached: cached}
	hh := sha256.New()
	hh.Write(pk.tp)
	hh.Write([]byte(c.JTI))
	hh.Sum(p.key[:0])
	return p, nil
}

// proofJWS checks the proof's JWS: its header (RFC 9449 §4.3 (2) to (5))
// and its signature (4.3 (6)), and returns its encoded header, its
// payload and its key. cached says the header was known (proofKeys) and
// only the signature was checked.
func (v *Verifier) proofJWS(raw string) (header string, payload []byte, pk *proofKey, cached bool, err error) {
	bad := func(desc, format string, args ...any) (string, []byte, *proofKey, bool, error) {
		return "", nil, nil, false, authErr(desc, fmt.Errorf("%w: "+format, append([]any{ErrProof}, args...)...))
	}
	h, rest, ok := strings.Cut(raw, ".")
	body, sigPart, ok2 := strings.Cut(rest, ".")
	if ok && ok2 && !strings.Contains(sigPart, ".") {
		if pk = v.proofKeys.get(h); pk != nil {
			// Strict: only the canonical encoding, the signing input
			// go-jose would rebuild; any other goes the long way.
			payload, err1 := base64.RawURLEncoding.Strict().DecodeString(body)
			sig, err2 := base64.RawURLEncoding.Strict().DecodeString(sigPart)
			if err1 == nil && err2 == nil {
				if !verifyJWS(pk, raw[:len(h)+1+len(body)], sig) {
					return bad("DPoP proof signature does not verify", "signature")
				}
				return h, payload, pk, true, nil
			}
		}
	}
	// 4.3 (2, 3, 5): a well-formed JWS with an allowed asymmetric alg;
	// go-jose refuses any other alg, "none" and HMAC included, and a jwk
	// that holds private or symmetric key material.
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		if e, ok := err.(*jose.ErrUnexpectedSignatureAlgorithm); ok {
			return bad("DPoP proof signature algorithm not allowed", "alg %.20q", e.Got)
		}
		return bad("malformed DPoP proof", "%s", joseReason(err))
	}
	ph := jws.Signatures[0].Protected
	// 4.3 (4): typ is dpop+jwt (RFC 7515 §4.1.9: the application/ prefix
	// may be left out, and media types are case-insensitive).
	typ, _ := ph.ExtraHeaders[jose.HeaderType].(string)
	if t := strings.ToLower(typ); t != "dpop+jwt" && t != "application/dpop+jwt" {
		return bad("DPoP proof typ is not dpop+jwt", "typ %.30q", typ)
	}
	jwk := ph.JSONWebKey
	if jwk == nil {
		return bad("DPoP proof has no jwk header", "no jwk")
	}
	if !jwk.IsPublic() || !jwk.Valid() {
		return bad("DPoP proof jwk is not a public key", "jwk not public")
	}
	if k, ok := jwk.Key.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return bad("DPoP proof RSA key too small", "%d-bit RSA key", k.N.BitLen())
	}
	// 4.3 (6): the signature verifies with the embedded key.
	payload, err = jws.Verify(jwk)
	if err != nil {
		return bad("DPoP proof signature does not verify", "signature")
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("DPoP proof jwk has no thumbprint", "thumbprint")
	}
	pk = &proofKey{alg: jose.SignatureAlgorithm(ph.Algorithm), key: jwk.Key, tp: tp, jkt: base64.RawURLEncoding.EncodeToString(tp)}
	return h, payload, pk, false, nil
}

// normalizeHTU puts an http(s) URL in the form compared for htu: scheme
// and host lower case, default port dropped, empty path as "/", dot
// segments removed, percent-encodings upper case and unreserved
// characters decoded; query and fragment dropped.
func normalizeHTU(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("unparsable URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("not an absolute http(s) URL")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	var userinfo string
	if u.User != nil {
		userinfo = u.User.String() + "@"
	}
	p := normalizePercent(u.EscapedPath())
	p = rdfx.RemoveDotSegments(p)
	if p == "" {
		p = "/"
	}
	return scheme + "://" + userinfo + host + p, nil
}

// normalizePercent upper-cases percent-encodings and decodes those of
// unreserved characters (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizePercent(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			n, err := strconv.ParseUint(p[i+1:i+3], 16, 8)
			if err == nil {
				c := byte(n)
				if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
					b.WriteByte(c)
				} else {
					b.WriteString(strings.ToUpper(p[i : i+3]))
				}
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// numericDate is a JWT NumericDate (RFC 7519 §2): seconds since the epoch,
// possibly fractional.
type numericDate float64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f > 1e11 {
		return fmt.Errorf("not a NumericDate")
	}
	*d = numericDate(f)
	return nil
}

func (d numericDate) time() time.Time {
	sec := int64(d)
	return time.Unix(sec, int64((float64(d)-float64(sec))*1e9))
}

// joseReason is a go-jose parse error said without echoing header values,
// which may hold key material.
func joseReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "three parts"):
		return "not a compact JWS"
	case strings.Contains(msg, "jwk"), strings.Contains(msg, "JWK"):
		return "invalid jwk header"
	case strings.Contains(msg, "illegal base64"):
		return "invalid base64url"
	}
	return "unparsable JWS"
}

// jsonReason is a JSON error said without the input.
func jsonReason(err error) string {
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		return "wrong type for " + e.Field
	}
	return "invalid JSON"
}
