package rdfx

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// RDF/XML is read by rdfx's own decoder, which follows the grammar of RDF
// 1.1 XML Syntax §7 over encoding/xml's token stream. knakk/rdf's decoder
// was the first choice, but it joins a document's rdf:nodeID="b0" with the
// node it names "b0" itself, reads rdf:resource="mailto:..." as a prefixed
// name, and cannot read a typed node element inside a property element.

const (
	xmlNS          = "http://www.w3.org/XML/1998/namespace"
	rdfXMLLiteral  = NSRDF + "XMLLiteral"
	rdfStatement   = NSRDF + "Statement"
	rdfSyntaxError = "RDF/XML: "
)

// entityMeter is the reader under the XML decoder. It remembers the first
// read error, to tell an I/O failure from malformed input, and it meters
// entity expansion: encoding/xml replaces each reference to an entity of
// the DOCTYPE with the entity's text while it reads a token, so a 115 KB
// document that refers 5,000 times to a 100 KB entity becomes 500 MB before
// the parser sees a single token. The meter implements io.ByteReader, so
// the decoder reads it a byte at a time with no buffer of its own, and at
// the ';' that ends a reference to a declared entity the meter charges the
// entity's length to the budget. Past a quarter of MaxBytes (the text a
// decoder's token buffer then holds doubles in memory as it grows, and is
// copied once more into a term) or past MaxBytes for the whole parse, it
// fails the read, and the decoder stops before expanding the reference.
type entityMeter struct {
	r        *bufio.Reader
	entities func() map[string]string // the decoder's Entity map
	b        *budget
	expanded int64 // replacement text so far
	err      error

	inRef bool   // after '&', reading a name
	name  []byte // the name so far
}

// maxEntityName bounds the names the meter looks up; a longer one is not
// a declared entity (declareEntities keeps only names it can look up).
const maxEntityName = 256

func (m *entityMeter) ReadByte() (byte, error) {
	if m.err != nil {
		return 0, m.err
	}
	c, err := m.r.ReadByte()
	if err != nil {
		m.err = err
		return 0, err
	}
	switch {
	case c == '&':
		m.inRef, m.name = true, m.name[:0]
	case !m.inRef:
	case c == ';':
		m.inRef = false
		if v, ok := m.entities()[string(m.name)]; ok && m.b.lim.bytes > 0 {
			m.expanded += int64(len(v))
			m.b.bytes += int64(len(v))
			if limit := m.b.lim.bytes / 4; m.expanded > limit || m.b.bytes > m.b.lim.bytes {
				m.err = fmt.Errorf("rdfx: RDF/XML entities expand to more than %d bytes: %w", limit, ErrTooLarge)
				return 0, m.err
			}
		}
	case len(m.name) < maxEntityName && c > ' ' && c != '&' && c != '<' && c != '"' && c != '\'':
		m.name = append(m.name, c)
	default:
		m.inRef = false
	}
	return c, nil
}

// Read is there for io.Reader; the decoder uses ReadByte.
func (m *entityMeter) Read(p []byte) (int, error) {
	for i := range p {
		c, err := m.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = c
	}
	return len(p), nil
}

// xmlScope is what an element inherits: the base IRI and the language.
type xmlScope struct{ base, lang string }

// enter applies an element's xml:base and xml:lang. Each xml:base is
// resolved against the one around it, so nested ones grow: their bytes
// count against the budget.
func (p *rdfxmlParser) enter(s xmlScope, el xml.StartElement) xmlScope {
	for _, a := range el.Attr {
		if a.Name.Space != xmlNS {
			continue
		}
		switch a.Name.Local {
		case "base":
			s.base = resolveIRI(s.base, a.Value)
			p.b.spend(len(s.base))
		case "lang":
			s.lang = a.Value
		}
	}
	return s
}

type rdfxmlParser struct {
	d      *xml.Decoder
	rt     *entityMeter
	g      *Graph
	b      *budget
	labels labeler
	depth  int
}

// parseRDFXML reads RDF/XML into a new graph.
func parseRDFXML(r io.Reader, base string, b *budget) (g *Graph, err error) {
	defer catch(&err)
	p := &rdfxmlParser{g: NewGraph(0), b: b, labels: newLabeler()}
	p.rt = &entityMeter{r: bufferedReader(r), b: b, entities: func() map[string]string { return p.d.Entity }}
	p.d = xml.NewDecoder(p.rt)
	root, ok := p.nextElement(true)
	if !ok {
		return p.g, nil // no element at all: the empty graph
	}
	start, ok := root.(xml.StartElement)
	if !ok {
		p.failAt("expected a start tag")
	}
	if isRDF(start.Name, "RDF") {
		scope := p.enter(xmlScope{base: base}, start)
		for {
			tok, _ := p.nextElement(false)
			el, ok := tok.(xml.StartElement)
			if !ok {
				break // </rdf:RDF>
			}
			p.nodeElement(el, scope)
		}
	} else { // a single node element may stand for the whole document
		p.nodeElement(start, xmlScope{base: base})
	}
	if tok, ok := p.nextElement(true); ok {
		p.failAt("unexpected element <%s> after the document element", tok.(xml.StartElement).Name.Local)
	}
	return p.g, nil
}

func isRDF(n xml.Name, local string) bool { return n.Space == NSRDF && n.Local == local }

func (p *rdfxmlParser) failAt(format string, args ...any) {
	line, col := p.d.InputPos()
	syntaxErrorf(line, col, rdfSyntaxError+format, args...)
}

// token returns the next token, or nil at the end of the input.
func (p *rdfxmlParser) token() xml.Token {
	p.b.tick()
	tok, err := p.d.Token()
	if err == nil {
		if dir, ok := tok.(xml.Directive); ok {
			p.declareEntities(string(dir))
		}
		return tok
	}
	if errors.Is(p.rt.err, ErrTooLarge) {
		fail(p.rt.err)
	}
	if p.rt.err != nil && !errors.Is(p.rt.err, io.EOF) {
		fail(fmt.Errorf("rdfx: reading input: %w", p.rt.err))
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	var serr *xml.SyntaxError
	if errors.As(err, &serr) {
		line, col := p.d.InputPos()
		if serr.Line != line {
			col = 0
		}
		syntaxErrorf(serr.Line, col, rdfSyntaxError+"%s", serr.Msg)
	}
	p.failAt("%v", err)
	return nil
}

// declareEntities makes the general entities of a DOCTYPE's internal
// subset known to the decoder, as in <!ENTITY foaf "http://xmlns.com/foaf/0.1/">,
// which ontology editors write to abbreviate IRIs in attribute values.
// encoding/xml inserts an entity's value as it is, without expanding
// entities inside it, so a document cannot blow up by nesting them.
func (p *rdfxmlParser) declareEntities(dir string) {
	if !strings.HasPrefix(dir, "DOCTYPE") {
		return
	}
	for {
		i := strings.Index(dir, "<!ENTITY")
		if i < 0 {
			return
		}
		dir = strings.TrimLeft(dir[i+len("<!ENTITY"):], " \t\r\n")
		sp := strings.IndexAny(dir, " \t\r\n")
		if sp < 0 {
			return
		}
		name, rest := dir[:sp], strings.TrimLeft(dir[sp:], " \t\r\n")
		if !validNCName(name) {
			continue // a parameter entity ("%") or something unreadable
		}
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			continue // an external entity
		}
		end := strings.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return
		}
		if p.d.Entity == nil {
			p.d.Entity = make(map[string]string)
		}
		if len(p.d.Entity) < 1000 && len(name) < maxEntityName {
			p.d.Entity[name] = rest[1 : 1+end]
		}
		dir = rest[1+end:]
	}
}

// nextElement skips white space, comments and processing instructions and
// returns the next start or end element. At the top level (outside the
// document element) it returns false at the end of the input; elsewhere
// the end of the input is an error.
func (p *rdfxmlParser) nextElement(top bool) (xml.Token, bool) {
	for {
		switch tok := p.token().(type) {
		case nil:
			if !top {
				p.failAt("unexpected end of input")
			}
			return nil, false
		case xml.StartElement:
			return tok, true
		case xml.EndElement:
			return tok, true
		case xml.CharData:
			if strings.TrimSpace(string(tok)) != "" {
				p.failText(tok)
			}
		}
	}
}

// failText reports unexpected text where it starts: the decoder is past
// its end.
func (p *rdfxmlParser) failText(text xml.CharData) {
	line, col := p.d.InputPos()
	rest := strings.TrimLeft(string(text), " \t\r\n")
	if n := strings.Count(rest, "\n"); n > 0 {
		line, col = line-n, 0
	} else {
		col -= utf8.RuneCountInString(rest)
	}
	syntaxErrorf(line, col, rdfSyntaxError+"unexpected text %q", truncate(rest))
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

func (p *rdfxmlParser) emit(t Triple) {
	if !t.Valid() {
		p.failAt("invalid triple %s", t)
	}
	p.b.add(p.g, t)
}

func (p *rdfxmlParser) nest() {
	p.depth++
	if max := 2 * p.b.lim.depth; p.depth > max {
		p.failAt("elements nested more than %d deep", max)
	}
}

// iri returns the IRI of an element or attribute name.
func (p *rdfxmlParser) iri(n xml.Name) Term {
	if !hasScheme(n.Space) {
		p.failAt("<%s> has no namespace IRI", n.Local)
	}
	return IRI(n.Space + n.Local)
}

// ignoredAttr reports whether an attribute is not RDF: a namespace
// declaration, xml:*, or a name beginning with "xml" (RDF 1.1 XML Syntax
// §6.1.4).
func ignoredAttr(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || a.Name.Space == xmlNS ||
		(a.Name.Space == "" && strings.HasPrefix(strings.ToLower(a.Name.Local), "xml"))
}

// rdfAttrs splits an element's attributes into the rdf: syntax attributes
// and the property attributes.
type rdfAttrs struct {
	about, id, nodeID, resource, datatype, parseType *string
	rdfType                                          []string
	props                                            []xml.Attr
}

func (p *rdfxmlParser) attrs(el xml.StartElement) rdfAttrs {
	var a rdfAttrs
	for _, at := range el.Attr {
		if ignoredAttr(at) {
			continue
		}
		v := at.Value
		if at.Name.Space != NSRDF {
			if at.Name.Space == "" {
				p.failAt("attribute %s has no namespace", at.Name.Local)
			}
			a.props = append(a.props, at)
			continue
		}
		switch at.Name.Local {
		case "about":
			a.about = &v
		case "ID":
			a.id = &v
		case "nodeID":
			a.nodeID = &v
		case "resource":
			a.resource = &v
		case "datatype":
			a.datatype = &v
		case "parseType":
			a.parseType = &v
		case "type":
			a.rdfType = append(a.rdfType, v)
		case "li", "Description", "RDF", "aboutEach", "aboutEachPrefix", "bagID":
			p.failAt("rdf:%s is not allowed as an attribute", at.Name.Local)
		default:
			a.props = append(a.props, at)
		}
	}
	return a
}

// nodeElement reads a node element (RDF 1.1 XML Syntax §7.2.11) whose
// start tag is el and returns its subject.
func (p *rdfxmlParser) nodeElement(el xml.StartElement, scope xmlScope) Term {
	p.nest()
	defer func() { p.depth-- }()
	scope = p.enter(scope, el)
	if el.Name.Space == NSRDF {
		switch el.Name.Local {
		case "RDF", "ID", "about", "parseType", "resource", "nodeID", "datatype", "li", "aboutEach", "aboutEachPrefix", "bagID":
			p.failAt("rdf:%s is not allowed as a node element", el.Name.Local)
		}
	}
	a := p.attrs(el)
	if a.parseType != nil || a.resource != nil || a.datatype != nil {
		p.failAt("rdf:parseType, rdf:resource and rdf:datatype are not allowed on a node element")
	}
	var subj Term
	n := 0
	if a.about != nil {
		subj, n = IRI(resolveIRI(scope.base, *a.about)), n+1
	}
	if a.id != nil {
		subj, n = p.idIRI(*a.id, scope), n+1
	}
	if a.nodeID != nil {
		subj, n = p.blank(*a.nodeID), n+1
	}
	switch {
	case n > 1:
		p.failAt("a node element has at most one of rdf:about, rdf:ID and rdf:nodeID")
	case n == 0:
		subj = Blank(p.labels.fresh())
	}
	if !isRDF(el.Name, "Description") {
		p.emit(Triple{subj, IRI(RDFType), p.iri(el.Name)})
	}
	p.propertyAttrs(subj, a, scope)
	p.propertyElements(subj, scope)
	return subj
}

// propertyAttrs emits the triples of rdf:type and property attributes.
func (p *rdfxmlParser) propertyAttrs(subj Term, a rdfAttrs, scope xmlScope) {
	for _, t := range a.rdfType {
		p.emit(Triple{subj, IRI(RDFType), IRI(resolveIRI(scope.base, t))})
	}
	for _, at := range a.props {
		p.emit(Triple{subj, p.iri(at.Name), LangLiteral(at.Value, scope.lang)})
	}
}

// idIRI turns an rdf:ID into base#id.
func (p *rdfxmlParser) idIRI(id string, scope xmlScope) Term {
	if !validNCName(id) {
		p.failAt("rdf:ID %q is not an XML name", id)
	}
	return IRI(resolveIRI(scope.base, "#"+id))
}

func (p *rdfxmlParser) blank(nodeID string) Term {
	if !validNCName(nodeID) {
		p.failAt("rdf:nodeID %q is not an XML name", nodeID)
	}
	return Blank(p.labels.label(nodeID))
}

// propertyElements reads property elements up to the end tag of their
// node element (RDF 1.1 XML Syntax §7.2.13).
func (p *rdfxmlParser) propertyElements(subj Term, scope xmlScope) {
	li := 1
	for {
		tok, _ := p.nextElement(false)
		el, ok := tok.(xml.StartElement)
		if !ok {
			return
		}
		p.propertyElement(subj, el, scope, &li)
	}
}

// propertyElement reads one property element (RDF 1.1 XML Syntax
// §7.2.14-§7.2.21) whose start tag is el.
func (p *rdfxmlParser) propertyElement(subj Term, el xml.StartElement, scope xmlScope, li *int) {
	p.nest()
	defer func() { p.depth-- }()
	scope = p.enter(scope, el)
	var pred Term
	switch {
	case isRDF(el.Name, "li"):
		pred = IRI(NSRDF + "_" + strconv.Itoa(*li))
		*li++
	case el.Name.Space == NSRDF && strings.Contains(" RDF ID about parseType resource nodeID datatype Description aboutEach aboutEachPrefix bagID ", " "+el.Name.Local+" "):
		p.failAt("rdf:%s is not allowed as a property element", el.Name.Local)
	default:
		pred = p.iri(el.Name)
	}
	a := p.attrs(el)
	if a.about != nil {
		p.failAt("rdf:about is not allowed on a property element")
	}
	reify := func(obj Term) {
		p.emit(Triple{subj, pred, obj})
		if a.id != nil { // RDF 1.1 XML Syntax §7.3 reification
			r := p.idIRI(*a.id, scope)
			p.emit(Triple{r, IRI(RDFType), IRI(rdfStatement)})
			p.emit(Triple{r, IRI(NSRDF + "subject"), subj})
			p.emit(Triple{r, IRI(NSRDF + "predicate"), pred})
			p.emit(Triple{r, IRI(NSRDF + "object"), obj})
		}
	}

	if a.parseType != nil {
		if a.resource != nil || a.nodeID != nil || a.datatype != nil || len(a.props) > 0 || len(a.rdfType) > 0 {
			p.failAt("rdf:parseType excludes other RDF attributes")
		}
		switch *a.parseType {
		case "Resource": // §7.2.18
			b := Blank(p.labels.fresh())
			reify(b)
			p.propertyElements(b, scope)
		case "Collection": // §7.2.19
			var items []Term
			for {
				tok, _ := p.nextElement(false)
				item, ok := tok.(xml.StartElement)
				if !ok {
					break
				}
				items = append(items, p.nodeElement(item, scope))
			}
			reify(p.list(items))
		default: // "Literal" and any other value, §7.2.17 and §7.2.20
			reify(Literal(p.xmlLiteral(), rdfXMLLiteral))
		}
		return
	}

	// Read the content: text, or one node element.
	var text strings.Builder
	for {
		switch tok := p.token().(type) {
		case nil:
			p.failAt("unexpected end of input")
		case xml.CharData:
			text.Write(tok)
		case xml.StartElement: // §7.2.15 resourcePropertyElt
			if strings.TrimSpace(text.String()) != "" {
				p.failAt("text and an element together in <%s>", el.Name.Local)
			}
			if a.resource != nil || a.nodeID != nil || a.datatype != nil || len(a.props) > 0 || len(a.rdfType) > 0 {
				p.failAt("a property element with a node element inside takes no other RDF attributes")
			}
			obj := p.nodeElement(tok, scope)
			if next, _ := p.nextElement(false); next != nil {
				if _, ok := next.(xml.StartElement); ok {
					p.failAt("a property element holds at most one node element")
				}
			}
			reify(obj)
			return
		case xml.EndElement:
			p.endProperty(text.String(), a, scope, reify)
			return
		}
	}
}

// endProperty finishes a property element without a child element: a
// literal (§7.2.16) or an empty property element (§7.2.21).
func (p *rdfxmlParser) endProperty(text string, a rdfAttrs, scope xmlScope, reify func(Term)) {
	if text != "" || a.datatype != nil {
		if a.resource != nil || a.nodeID != nil || len(a.props) > 0 || len(a.rdfType) > 0 {
			p.failAt("a literal property element takes no rdf:resource, rdf:nodeID or property attributes")
		}
		if a.datatype != nil {
			reify(Literal(text, resolveIRI(scope.base, *a.datatype)))
		} else {
			reify(LangLiteral(text, scope.lang))
		}
		return
	}
	if a.resource == nil && a.nodeID == nil && len(a.props) == 0 && len(a.rdfType) == 0 {
		reify(LangLiteral("", scope.lang))
		return
	}
	var obj Term
	switch {
	case a.resource != nil && a.nodeID != nil:
		p.failAt("rdf:resource and rdf:nodeID together")
	case a.resource != nil:
		obj = IRI(resolveIRI(scope.base, *a.resource))
	case a.nodeID != nil:
		obj = p.blank(*a.nodeID)
	default:
		obj = Blank(p.labels.fresh())
	}
	reify(obj)
	p.propertyAttrs(obj, a, scope)
}

// list emits an RDF collection of items and returns its head.
func (p *rdfxmlParser) list(items []Term) Term {
	if len(items) == 0 {
		return IRI(rdfNil)
	}
	head := Blank(p.labels.fresh())
	cur := head
	for i, it := range items {
		p.emit(Triple{cur, IRI(rdfFirst), it})
		rest := IRI(rdfNil)
		if i < len(items)-1 {
			rest = Blank(p.labels.fresh())
		}
		p.emit(Triple{cur, IRI(rdfRest), rest})
		cur = rest
	}
	return head
}

// xmlLiteral reads the content of a parseType="Literal" element up to its
// end tag and writes it back as XML. Each element declares its namespace as
// the default one and attributes get generated prefixes: the value is
// well-formed and namespace-correct, though not exclusive-canonical.
func (p *rdfxmlParser) xmlLiteral() string {
	var b strings.Builder
	x := &xmlWriter{w: bufio.NewWriter(&b)}
	depth := 0
	var spaces []string // the default namespace of each open element
	for {
		switch tok := p.token().(type) {
		case nil:
			p.failAt("unexpected end of input")
		case xml.StartElement:
			depth++
			p.nest()
			x.raw("<" + tok.Name.Local)
			parent := ""
			if len(spaces) > 0 {
				parent = spaces[len(spaces)-1]
			}
			if tok.Name.Space != parent {
				x.raw(` xmlns="`)
				x.attr(tok.Name.Space)
				x.raw(`"`)
			}
			spaces = append(spaces, tok.Name.Space)
			n := 0
			for _, at := range tok.Attr {
				if at.Name.Space == "xmlns" || (at.Name.Space == "" && at.Name.Local == "xmlns") {
					continue
				}
				name := at.Name.Local
				switch at.Name.Space {
				case "":
				case xmlNS:
					name = "xml:" + name
				default:
					prefix := "a" + strconv.Itoa(n)
					n++
					x.raw(" xmlns:" + prefix + `="`)
					x.attr(at.Name.Space)
					x.raw(`"`)
					name = prefix + ":" + name
				}
				x.raw(" " + name + `="`)
				x.attr(at.Value)
				x.raw(`"`)
			}
			x.raw(">")
		case xml.EndElement:
			if depth == 0 {
				x.w.Flush()
				if x.err != nil {
					p.failAt("%v", x.err)
				}
				return b.String()
			}
			depth--
			p.depth--
			spaces = spaces[:len(spaces)-1]
			x.raw("</" + tok.Name.Local + ">")
		case xml.CharData:
			x.text(string(tok))
		case xml.Comment:
			x.raw("<!--" + string(tok) + "-->")
		case xml.ProcInst:
			x.raw("<?" + tok.Target + " " + string(tok.Inst) + "?>")
		}
	}
}
