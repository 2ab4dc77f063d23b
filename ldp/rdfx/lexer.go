package rdfx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The lexer is shared by the Turtle, N-Triples and N3 parser and the SPARQL
// Update parser: the three languages spell IRIs, prefixed names, blank nodes,
// literals and numbers the same way (Turtle 1.1 §6.5, SPARQL 1.1 Query §19.8).
// Bare words (a, true, PREFIX, INSERT ...) are left to the parsers.

type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokIRI             // <...>; text is the unescaped IRI reference
	tokPName           // prefix:local; aux is the prefix, text the unescaped local name
	tokBlank           // _:label; text is the label
	tokVar             // ?name or $name; text is the name
	tokString          // a quoted string; text is the unescaped value
	tokAt              // @word: a directive or a language tag; text is the word
	tokInteger         // text is the lexical form
	tokDecimal         // text is the lexical form
	tokDouble          // text is the lexical form
	tokWord            // a bare word such as a, true, PREFIX or INSERT
	tokPunct           // punctuation such as . ; , [ ] ( ) { } ^^ or =>
)

// token is one lexeme and where it starts (line and column from 1).
type token struct {
	kind      tokKind
	text, aux string
	line, col int
}

func (t token) is(punct string) bool { return t.kind == tokPunct && t.text == punct }

// describe names a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokIRI:
		return fmt.Sprintf("<%s>", t.text)
	case tokPName:
		return fmt.Sprintf("%s:%s", t.aux, t.text)
	case tokBlank:
		return "_:" + t.text
	case tokVar:
		return "?" + t.text
	case tokString:
		return "a string"
	case tokAt:
		return "@" + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

// failure carries an error out of the recursive-descent parsers by panic;
// catch turns it back into a returned error at the entry point.
type failure struct{ err error }

// catch recovers a failure into *errp and lets every other panic through.
func catch(errp *error) {
	if r := recover(); r != nil {
		f, ok := r.(failure)
		if !ok {
			panic(r)
		}
		*errp = f.err
	}
}

func fail(err error) { panic(failure{err}) }

func syntaxErrorf(line, col int, format string, args ...any) {
	fail(&SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

const eof = -1

// runePos is a rune and where it is.
type runePos struct {
	r         rune
	line, col int
}

type lexer struct {
	rd        *bufio.Reader
	back      []runePos // pushed-back runes, the next one last
	line, col int       // position of the next rune to read from rd
	buf       []byte    // scratch for the token being read
	dots      []runePos // trailing unescaped dots of a name, which may end a statement instead
	interned  map[string]string
}

func newLexer(r io.Reader) *lexer {
	return &lexer{
		rd:       bufferedReader(r),
		line:     1,
		col:      1,
		buf:      make([]byte, 0, 128),
		interned: make(map[string]string),
	}
}

// bufferedReader reuses r when it is already a large enough buffer.
func bufferedReader(r io.Reader) *bufio.Reader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= 4<<10 {
		return br
	}
	return bufio.NewReaderSize(r, 16<<10)
}

// intern returns b as a string, sharing one copy between equal IRIs.
func (l *lexer) intern(b []byte) string {
	if s, ok := l.interned[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(l.interned) < 1<<16 {
		l.interned[s] = s
	}
	return s
}

// internString is intern for a string already built.
func (l *lexer) internString(s string) string {
	if v, ok := l.interned[s]; ok {
		return v
	}
	if len(l.interned) < 1<<16 {
		l.interned[s] = s
	}
	return s
}

func (l *lexer) read() runePos {
	if n := len(l.back); n > 0 {
		p := l.back[n-1]
		l.back = l.back[:n-1]
		return p
	}
	p := runePos{line: l.line, col: l.col}
	r, size, err := l.rd.ReadRune()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			fail(fmt.Errorf("rdfx: reading input: %w", err))
		}
		p.r = eof
		return p
	}
	if r == utf8.RuneError && size == 1 {
		syntaxErrorf(p.line, p.col, "invalid UTF-8")
	}
	p.r = r
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
	return p
}

func (l *lexer) unread(p runePos) { l.back = append(l.back, p) }

func (l *lexer) peekRune() rune {
	p := l.read()
	l.unread(p)
	return p.r
}

// next returns the next token.
func (l *lexer) next() token {
	var p runePos
	for {
		p = l.read()
		switch p.r {
		case ' ', '\t', '\r', '\n':
			continue
		case '#':
			for p.r != '\n' && p.r != eof {
				p = l.read()
			}
			continue
		}
		break
	}
	t := token{line: p.line, col: p.col}
	r := p.r
	switch {
	case r == eof:
		t.kind = tokEOF
	case r == '<':
		t.kind, t.text = tokIRI, l.lexIRI(p)
	case r == '"' || r == '\'':
		t.kind, t.text = tokString, l.lexString(p)
	case r == '_':
		if q := l.read(); q.r != ':' {
			syntaxErrorf(q.line, q.col, "expected ':' after '_'")
		}
		t.kind, t.text = tokBlank, l.lexBlankLabel()
	case r == '?' || r == '$':
		if q := l.peekRune(); isPNCharsU(q) || isDigit(q) {
			t.kind, t.text = tokVar, l.lexVarName()
		} else {
			t.kind, t.text = tokPunct, string(r)
		}
	case r == '@':
		t.kind, t.text = tokAt, l.lexAtWord(p)
	case isDigit(r):
		t.kind, t.text = l.lexNumber(p)
	case r == '.' || r == '+' || r == '-':
		q := l.read()
		l.unread(q)
		if isDigit(q.r) || (r != '.' && q.r == '.' && l.digitAfterDot(q)) {
			t.kind, t.text = l.lexNumber(p)
		} else {
			t.kind, t.text = tokPunct, string(r)
		}
	case r == '^':
		if q := l.read(); q.r == '^' {
			t.kind, t.text = tokPunct, "^^"
		} else {
			l.unread(q)
			t.kind, t.text = tokPunct, "^"
		}
	case r == '=':
		if q := l.read(); q.r == '>' {
			t.kind, t.text = tokPunct, "=>"
		} else {
			l.unread(q)
			t.kind, t.text = tokPunct, "="
		}
	case r == ';' || r == ',' || r == '[' || r == ']' || r == '(' || r == ')' ||
		r == '{' || r == '}' || r == '!' || r == '*' || r == '/' || r == '|':
		t.kind, t.text = tokPunct, string(r)
	case r == ':' || isPNCharsBase(r):
		t.kind, t.text, t.aux = l.lexName(p)
	default:
		syntaxErrorf(p.line, p.col, "unexpected character %q", r)
	}
	return t
}

// digitAfterDot reports whether a digit follows the '.' at dot, leaving the
// input as it was.
func (l *lexer) digitAfterDot(dot runePos) bool {
	l.read() // the dot, pushed back by the caller
	q := l.read()
	l.unread(q)
	l.unread(dot)
	return isDigit(q.r)
}

// lexIRI reads an IRIREF after its '<' (Turtle 1.1 [18]).
func (l *lexer) lexIRI(start runePos) string {
	l.buf = l.buf[:0]
	for {
		p := l.read()
		switch {
		case p.r == '>':
			return l.intern(l.buf)
		case p.r == eof:
			syntaxErrorf(start.line, start.col, "unterminated IRI")
		case p.r == '\\':
			q := l.read()
			var c rune
			switch q.r {
			case 'u':
				c = l.lexHex(4)
			case 'U':
				c = l.lexHex(8)
			default:
				syntaxErrorf(q.line, q.col, "invalid escape in IRI")
			}
			if !validIRIRune(c) {
				syntaxErrorf(p.line, p.col, "escaped character %U not allowed in IRI", c)
			}
			l.buf = utf8.AppendRune(l.buf, c)
		case !validIRIRune(p.r):
			syntaxErrorf(p.line, p.col, "character %q not allowed in IRI", p.r)
		default:
			l.buf = utf8.AppendRune(l.buf, p.r)
		}
	}
}

// validIRIRune reports whether r may appear in an IRIREF.
func validIRIRune(r rune) bool {
	if r <= 0x20 {
		return false
	}
	switch r {
	case '<', '>', '"', '{', '}', '|', '^', '`', '\\':
		return false
	}
	return true
}

// lexHex reads n hex digits of a \u or \U escape and returns the code point.
func (l *lexer) lexHex(n int) rune {
	var v rune
	first := runePos{}
	for i := 0; i < n; i++ {
		p := l.read()
		if i == 0 {
			first = p
		}
		d := hexValue(p.r)
		if d < 0 {
			syntaxErrorf(p.line, p.col, "expected %d hex digits in escape", n)
		}
		v = v<<4 | rune(d)
	}
	if v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF) {
		syntaxErrorf(first.line, first.col, "escape %U is not a Unicode scalar value", v)
	}
	return v
}

func hexValue(r rune) int {
	switch {
	case r >= '0' && r <= '9':
		return int(r - '0')
	case r >= 'a' && r <= 'f':
		return int(r-'a') + 10
	case r >= 'A' && r <= 'F':
		return int(r-'A') + 10
	}
	return -1
}

// lexString reads a string after its opening quote: '...', "...", ”'...”'
// or """...""" (Turtle 1.1 [22]-[25]).
func (l *lexer) lexString(open runePos) string {
	q := open.r
	l.buf = l.buf[:0]
	long := false
	if p := l.read(); p.r == q {
		if p2 := l.read(); p2.r == q {
			long = true
		} else { // the empty string
			l.unread(p2)
			return ""
		}
	} else {
		l.unread(p)
	}
	for {
		p := l.read()
		switch {
		case p.r == eof:
			syntaxErrorf(open.line, open.col, "unterminated string")
		case p.r == q && !long:
			return string(l.buf)
		case p.r == q:
			n := 1
			for n < 3 {
				p2 := l.read()
				if p2.r != q {
					l.unread(p2)
					break
				}
				n++
			}
			if n == 3 {
				return string(l.buf)
			}
			for ; n > 0; n-- {
				l.buf = utf8.AppendRune(l.buf, q)
			}
		case (p.r == '\n' || p.r == '\r') && !long:
			syntaxErrorf(p.line, p.col, "line break in a short string (use \\n or a long string)")
		case p.r == '\\':
			l.buf = utf8.AppendRune(l.buf, l.lexEscape())
		default:
			l.buf = utf8.AppendRune(l.buf, p.r)
		}
	}
}

// lexEscape reads a string escape after its backslash (ECHAR or UCHAR).
func (l *lexer) lexEscape() rune {
	p := l.read()
	switch p.r {
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 'f':
		return '\f'
	case '"', '\'', '\\':
		return p.r
	case 'u':
		return l.lexHex(4)
	case 'U':
		return l.lexHex(8)
	}
	syntaxErrorf(p.line, p.col, "invalid escape \\%c", p.r)
	return 0
}

// lexBlankLabel reads a blank node label after "_:" (Turtle 1.1 [141s]).
func (l *lexer) lexBlankLabel() string {
	l.buf, l.dots = l.buf[:0], l.dots[:0]
	p := l.read()
	if !isPNCharsU(p.r) && !isDigit(p.r) {
		syntaxErrorf(p.line, p.col, "invalid blank node label")
	}
	l.buf = utf8.AppendRune(l.buf, p.r)
	for {
		p = l.read()
		switch {
		case p.r == '.':
			l.buf = append(l.buf, '.')
			l.dots = append(l.dots, p)
		case isPNChars(p.r):
			l.buf = utf8.AppendRune(l.buf, p.r)
			l.dots = l.dots[:0]
		default:
			l.unread(p)
			l.giveBackDots()
			return string(l.buf)
		}
	}
}

// giveBackDots returns the trailing dots of a name to the input, where they
// end the statement.
func (l *lexer) giveBackDots() {
	l.buf = l.buf[:len(l.buf)-len(l.dots)]
	for i := len(l.dots) - 1; i >= 0; i-- {
		l.unread(l.dots[i])
	}
	l.dots = l.dots[:0]
}

// lexVarName reads a variable name after '?' or '$' (SPARQL 1.1 [166]).
func (l *lexer) lexVarName() string {
	l.buf = l.buf[:0]
	for {
		p := l.read()
		if isPNCharsU(p.r) || isDigit(p.r) || p.r == 0xB7 || (p.r >= 0x300 && p.r <= 0x36F) || p.r == 0x203F || p.r == 0x2040 {
			l.buf = utf8.AppendRune(l.buf, p.r)
			continue
		}
		l.unread(p)
		return string(l.buf)
	}
}

// lexAtWord reads the word after '@': prefix, base or a language tag.
func (l *lexer) lexAtWord(at runePos) string {
	l.buf = l.buf[:0]
	for {
		p := l.read()
		if isASCIILetter(p.r) || (len(l.buf) > 0 && (isDigit(p.r) || p.r == '-')) {
			l.buf = append(l.buf, byte(p.r))
			continue
		}
		l.unread(p)
		break
	}
	if len(l.buf) == 0 {
		syntaxErrorf(at.line, at.col, "expected a directive or language tag after '@'")
	}
	return string(l.buf)
}

// lexNumber reads INTEGER, DECIMAL or DOUBLE (Turtle 1.1 [19]-[21]) from
// its first rune.
func (l *lexer) lexNumber(first runePos) (tokKind, string) {
	l.buf = l.buf[:0]
	kind := tokInteger
	p := first
	if p.r == '+' || p.r == '-' {
		l.buf = append(l.buf, byte(p.r))
		p = l.read()
	}
	digits := 0
	for isDigit(p.r) {
		l.buf = append(l.buf, byte(p.r))
		digits++
		p = l.read()
	}
	if p.r == '.' {
		q := l.read()
		switch {
		case isDigit(q.r):
			kind = tokDecimal
			l.buf = append(l.buf, '.')
			for isDigit(q.r) {
				l.buf = append(l.buf, byte(q.r))
				q = l.read()
			}
			p = q
		case (q.r == 'e' || q.r == 'E') && digits > 0 && l.exponentFollows():
			l.buf = append(l.buf, '.')
			p = q
		default: // the dot ends the statement
			l.unread(q)
			l.unread(p)
			return kind, string(l.buf)
		}
	}
	if p.r == 'e' || p.r == 'E' {
		kind = tokDouble
		l.buf = append(l.buf, byte(p.r))
		p = l.read()
		if p.r == '+' || p.r == '-' {
			l.buf = append(l.buf, byte(p.r))
			p = l.read()
		}
		if !isDigit(p.r) {
			syntaxErrorf(p.line, p.col, "expected digits in exponent")
		}
		for isDigit(p.r) {
			l.buf = append(l.buf, byte(p.r))
			p = l.read()
		}
	}
	l.unread(p)
	return kind, string(l.buf)
}

// exponentFollows reports whether the input continues with [+-]?[0-9],
// leaving it as it was.
func (l *lexer) exponentFollows() bool {
	p := l.read()
	if p.r == '+' || p.r == '-' {
		q := l.read()
		l.unread(q)
		l.unread(p)
		return isDigit(q.r)
	}
	l.unread(p)
	return isDigit(p.r)
}

// lexName reads a prefixed name (PNAME_NS or PNAME_LN) or a bare word from
// its first rune. It returns the kind, the local name or word, and the
// prefix.
func (l *lexer) lexName(first runePos) (tokKind, string, string) {
	prefix := ""
	if first.r != ':' {
		l.buf, l.dots = l.buf[:0], l.dots[:0]
		l.buf = utf8.AppendRune(l.buf, first.r)
		var p runePos
		for {
			p = l.read()
			if p.r == '.' {
				l.buf = append(l.buf, '.')
				l.dots = append(l.dots, p)
				continue
			}
			if isPNChars(p.r) {
				l.buf = utf8.AppendRune(l.buf, p.r)
				l.dots = l.dots[:0]
				continue
			}
			break
		}
		if p.r != ':' {
			l.unread(p)
			l.giveBackDots()
			return tokWord, string(l.buf), ""
		}
		if len(l.dots) > 0 {
			syntaxErrorf(first.line, first.col, "prefix may not end with '.'")
		}
		prefix = l.intern(l.buf)
	}
	// PN_LOCAL (Turtle 1.1 [168s]); percent escapes are kept, backslash
	// escapes are removed.
	l.buf, l.dots = l.buf[:0], l.dots[:0]
	for i := 0; ; i++ {
		p := l.read()
		switch {
		case p.r == '.' && i > 0:
			l.buf = append(l.buf, '.')
			l.dots = append(l.dots, p)
			continue
		case isPNCharsU(p.r) || p.r == ':' || isDigit(p.r) || (i > 0 && isPNChars(p.r)):
			l.buf = utf8.AppendRune(l.buf, p.r)
		case p.r == '%':
			l.buf = append(l.buf, '%')
			for range 2 {
				h := l.read()
				if hexValue(h.r) < 0 {
					syntaxErrorf(h.line, h.col, "expected two hex digits after '%%'")
				}
				l.buf = append(l.buf, byte(h.r))
			}
		case p.r == '\\':
			e := l.read()
			if !isLocalEscape(e.r) {
				syntaxErrorf(e.line, e.col, "invalid escape \\%c in local name", e.r)
			}
			l.buf = append(l.buf, byte(e.r))
		default:
			l.unread(p)
			l.giveBackDots()
			return tokPName, l.intern(l.buf), prefix
		}
		l.dots = l.dots[:0]
	}
}

// isLocalEscape reports whether \c is a PN_LOCAL_ESC.
func isLocalEscape(c rune) bool {
	switch c {
	case '_', '~', '.', '-', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', '/', '?', '#', '@', '%':
		return true
	}
	return false
}

func isDigit(r rune) bool       { return r >= '0' && r <= '9' }
func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// isPNCharsBase is PN_CHARS_BASE (Turtle 1.1 [163s]).
func isPNCharsBase(r rune) bool {
	switch {
	case r < 0x80:
		return isASCIILetter(r)
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

// isPNCharsU is PN_CHARS_U (Turtle 1.1 [164s]).
func isPNCharsU(r rune) bool { return r == '_' || isPNCharsBase(r) }

// isPNChars is PN_CHARS (Turtle 1.1 [166s]).
func isPNChars(r rune) bool {
	return isPNCharsU(r) || r == '-' || isDigit(r) || r == 0xB7 ||
		(r >= 0x300 && r <= 0x36F) || r == 0x203F || r == 0x2040
}
