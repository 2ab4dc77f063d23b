package acl

// The ACL ontology terms Kluis reads (WAC 1.0 §1.2 "Namespaces").
const (
	nsACL   = "http://www.w3.org/ns/auth/acl#"
	nsFOAF  = "http://xmlns.com/foaf/0.1/"
	nsVCard = "http://www.w3.org/2006/vcard/ns#"

	aclAuthorization      = nsACL + "Authorization"
	aclAccessTo           = nsACL + "accessTo"
	aclDefault            = nsACL + "default"
	aclMode               = nsACL + "mode"
	aclAgent              = nsACL + "agent"
	aclAgentClass         = nsACL + "agentClass"
	aclAgentGroup         = nsACL + "agentGroup"
	aclOrigin             = nsACL + "origin"
	aclAuthenticatedAgent = nsACL + "AuthenticatedAgent"
	aclCondition          = nsACL + "condition"
	aclConditionClass     = nsACL + "Condition"
	aclClient             = nsACL + "client"
	aclClientGroup        = nsACL + "clientGroup"
	aclClientClass        = nsACL + "clientClass"
	aclIssuer             = nsACL + "issuer"
	aclIssuerGroup        = nsACL + "issuerGroup"
	aclIssuerClass        = nsACL + "issuerClass"

	aclRead    = nsACL + "Read"
	aclWrite   = nsACL + "Write"
	aclAppend  = nsACL + "Append"
	aclControl = nsACL + "Control"

	foafAgent = nsFOAF + "Agent"

	// VCardHasMember is vcard:hasMember, the predicate that lists the
	// members of an acl:agentGroup, acl:clientGroup or acl:issuerGroup
	// (WAC 1.0 §4.3 "Access Subjects"). Groups implementations read it.
	VCardHasMember = nsVCard + "hasMember"
)

// The condition types the Evaluator supports, and the link relation that
// advertises them. WAC ED 2026-04 §3.2 "ACL Resource Condition Discovery":
// a server "MUST advertise each supported condition type by responding to
// an HTTP request on the effective ACL resource including a Link header
// with the rel value of http://www.w3.org/ns/auth/acl#condition and the
// condition type as link target". The server sends one such Link per entry
// of ConditionTypes.
const (
	// ClientCondition is acl:ClientCondition (WAC ED §4.4 "Client
	// Condition"): which clients may act on behalf of the subject agent.
	ClientCondition = nsACL + "ClientCondition"
	// IssuerCondition is acl:IssuerCondition (WAC ED §4.4 "Issuer
	// Condition"): which issuers are trusted to assert the agent's identity.
	IssuerCondition = nsACL + "IssuerCondition"
	// ConditionRel is the link relation type that advertises a supported
	// condition type.
	ConditionRel = nsACL + "condition"
)

// ConditionTypes returns the condition types the Evaluator supports, in a
// new slice, for the server to advertise with ConditionRel links.
func ConditionTypes() []string { return []string{ClientCondition, IssuerCondition} }
