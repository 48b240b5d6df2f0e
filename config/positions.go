package config

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// positions maps each key path of a TOML document to where its key and its
// value start. Paths carry array indices, as in "container[1].ports[0]", so
// that an error about one element of an array of tables points at it.
//
// The TOML decoder reports positions only for syntax errors; this index is
// what lets a semantic error ("port 70000 is out of range") name its line
// and column. It is built from a document the decoder has accepted, so it
// only needs to follow valid TOML.
type positions struct {
	keys   map[string]Pos
	values map[string]Pos
	order  []string // key paths in document order
}

// value returns where the value of path starts, or else its key.
func (p positions) value(path string) Pos {
	if v, ok := p.values[path]; ok {
		return v
	}
	return p.keys[path]
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// occurrences returns the key position of every path that is dotted (the
// decoder's form, without indices) as the given key.
func (p positions) occurrences(dotted string) []Pos {
	var out []Pos
	for _, path := range p.order {
		if indexRE.ReplaceAllString(path, "") == dotted {
			out = append(out, p.keys[path])
		}
	}
	if len(out) == 0 {
		out = append(out, Pos{})
	}
	return out
}

// onLine finds the occurrence of a dotted key whose value or key is on
// the line of near, and returns its indexed path and value position. When
// none is, it returns the dotted key and near itself.
func (p positions) onLine(dotted string, near Pos) (string, Pos) {
	for _, path := range p.order {
		if indexRE.ReplaceAllString(path, "") != dotted {
			continue
		}
		if v := p.value(path); v.Line == near.Line || p.keys[path].Line == near.Line {
			return path, v
		}
	}
	return dotted, near
}

// indexPositions scans a TOML document that has already been decoded
// without error. Unexpected input ends the scan early; positions found up
// to there are kept.
func indexPositions(src []byte) positions {
	s := &scanner{src: string(src), line: 1, col: 1,
		p:      positions{keys: map[string]Pos{}, values: map[string]Pos{}},
		tables: map[string]int{}}
	s.document()
	return s.p
}

type scanner struct {
	src       string
	off       int
	line, col int
	p         positions
	tables    map[string]int // array-of-tables path → entries seen so far
}

func (s *scanner) eof() bool { return s.off >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.off]
}

func (s *scanner) next() {
	if s.eof() {
		return
	}
	r, n := utf8.DecodeRuneInString(s.src[s.off:])
	s.off += n
	if r == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
}

func (s *scanner) has(prefix string) bool { return strings.HasPrefix(s.src[s.off:], prefix) }

func (s *scanner) skip(n int) {
	for range n {
		s.next()
	}
}

func (s *scanner) pos() Pos { return Pos{Line: s.line, Col: s.col} }

// space skips blanks and comments, and newlines too when nl is set.
func (s *scanner) space(nl bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.next()
		case c == '\n' && nl:
			s.next()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		default:
			return
		}
	}
}

func (s *scanner) document() {
	prefix := ""
	for {
		s.space(true)
		if s.eof() {
			return
		}
		start := s.pos()
		if s.has("[[") {
			s.skip(2)
			key := s.key()
			s.space(false)
			s.skip(2) // ]]
			path := s.resolve(key, true)
			s.record(path, start, start)
			prefix = path
			continue
		}
		if s.peek() == '[' {
			s.next()
			key := s.key()
			s.space(false)
			s.next() // ]
			prefix = s.resolve(key, false)
			s.record(prefix, start, start)
			continue
		}
		key := s.key()
		if len(key) == 0 {
			return
		}
		path := join(prefix, dotted(key))
		s.space(false)
		if s.peek() != '=' {
			return
		}
		s.next()
		s.space(false)
		s.p.keys[path] = start
		s.value(path)
	}
}

// resolve turns a table header's key into an indexed path. Each prefix of
// the key that names an array of tables gets the index of its current
// entry; the header of an array of tables itself starts a new entry.
func (s *scanner) resolve(key []string, arrayTable bool) string {
	path := ""
	for i, k := range key {
		path = join(path, k)
		last := i == len(key)-1
		if last && arrayTable {
			n := s.tables[path]
			s.tables[path] = n + 1
			path = fmt.Sprintf("%s[%d]", path, n)
		} else if n, ok := s.tables[path]; ok && n > 0 {
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
	}
	return path
}

func (s *scanner) record(path string, key, value Pos) {
	if _, seen := s.p.keys[path]; !seen {
		s.p.order = append(s.p.order, path)
	}
	s.p.keys[path] = key
	s.p.values[path] = value
}

// key reads a possibly dotted, possibly quoted key.
func (s *scanner) key() []string {
	var parts []string
	for {
		s.space(false)
		switch s.peek() {
		case '"', '\'':
			start := s.off + 1
			s.str()
			parts = append(parts, s.src[start:max(start, s.off-1)])
		default:
			start := s.off
			for !s.eof() && isBareKey(s.peek()) {
				s.next()
			}
			if s.off == start {
				return parts
			}
			parts = append(parts, s.src[start:s.off])
		}
		s.space(false)
		if s.peek() != '.' {
			return parts
		}
		s.next()
	}
}

func isBareKey(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// value reads one value and records where it starts; arrays and inline
// tables record their elements too.
func (s *scanner) value(path string) {
	if _, seen := s.p.values[path]; !seen {
		if _, seen := s.p.keys[path]; !seen {
			s.p.keys[path] = s.pos()
		}
		s.p.order = append(s.p.order, path)
	}
	s.p.values[path] = s.pos()
	switch s.peek() {
	case '"', '\'':
		s.str()
	case '[':
		s.next()
		for i := 0; ; i++ {
			s.space(true)
			if s.eof() || s.peek() == ']' {
				break
			}
			s.value(fmt.Sprintf("%s[%d]", path, i))
			s.space(true)
			if s.peek() == ',' {
				s.next()
			}
		}
		s.next()
	case '{':
		s.next()
		for {
			s.space(false)
			if s.eof() || s.peek() == '}' {
				break
			}
			start := s.pos()
			key := s.key()
			if len(key) == 0 {
				return
			}
			s.space(false)
			s.next() // =
			s.space(false)
			sub := join(path, dotted(key))
			s.p.keys[sub] = start
			s.value(sub)
			s.space(false)
			if s.peek() == ',' {
				s.next()
			}
		}
		s.next()
	default:
		for !s.eof() && !strings.ContainsRune(",]}\n#", rune(s.peek())) {
			s.next()
		}
	}
}

// str skips a basic, literal or multi-line string.
func (s *scanner) str() {
	for _, q := range []string{`"""`, `'''`} {
		if s.has(q) {
			s.skip(3)
			for !s.eof() && !s.has(q) {
				if q[0] == '"' && s.peek() == '\\' {
					s.next()
				}
				s.next()
			}
			s.skip(3)
			for s.peek() == q[0] { // up to two quotes may end the content
				s.next()
			}
			return
		}
	}
	q := s.peek()
	s.next()
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		if q == '"' && s.peek() == '\\' {
			s.next()
		}
		s.next()
	}
	s.next()
}

func dotted(key []string) string { return strings.Join(key, ".") }

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
