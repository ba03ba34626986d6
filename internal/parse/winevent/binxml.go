package winevent

import (
	"encoding/binary"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// This file reads the binary XML of EVTX records into a small element
// tree. Every read is bounds-checked against the chunk, nesting and output
// are bounded, so a hostile chunk costs at most a bounded amount of memory
// and time.

var errBinXML = errors.New("malformed binary XML")

const (
	maxDepth     = 48      // element and template nesting
	maxElems     = 8192    // elements in one record
	maxTextBytes = 1 << 20 // UTF-16 units decoded for one record
	// maxTokens bounds the tokens read for one record: templates and
	// nested binary XML can refer to the same bytes again and again.
	maxTokens = 1 << 18
	// maxChunkTokens bounds them for a whole chunk (many records can each
	// stay just under maxTokens).
	maxChunkTokens = 1 << 21
)

// xval is one value: its text, and whether the text is a JSON literal
// (number or boolean) rather than a string.
type xval struct {
	s   string
	lit bool
}

type xattr struct {
	name string
	val  []xval
	// val starts in v0. When the element's attrs grow, the copies' val
	// still point at the first v0, which stays alive and is not written
	// again: values go to the last attribute only.
	v0 [1]xval
}

type xelem struct {
	name  string
	attrs []xattr
	kids  []*xelem
	vals  []xval
	// Most elements have at most one attribute and one value: attrs and
	// vals start in these (an element never moves: see newElem).
	attr0 [1]xattr
	val0  [1]xval
}

// text is an element's or attribute's value as one text.
func joinVals(vs []xval) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0].s
	}
	n := 0
	for _, v := range vs {
		n += len(v.s)
	}
	b := make([]byte, 0, n)
	for _, v := range vs {
		b = append(b, v.s...)
	}
	return string(b)
}

func (e *xelem) attr(name string) string {
	for i := range e.attrs {
		if e.attrs[i].name == name {
			return joinVals(e.attrs[i].val)
		}
	}
	return ""
}

func (e *xelem) kid(name string) *xelem {
	if e == nil {
		return nil
	}
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// sub is one substitution value of a template instance.
type sub struct {
	typ       byte
	off, size int
}

// chunkParser reads the records of one chunk.
type chunkParser struct {
	b      []byte // the chunk
	names  map[int]string
	elems  int
	text   int
	tokens int
	// chunkTokens counts the tokens of the chunk's records so far.
	chunkTokens int
	arena       []xelem
	strbuf      []uint16
	// buffers evtxRecord reuses from record to record
	scratch  []byte
	rawNames []string
	kvs      []kv
}

func (p *chunkParser) reset(b []byte) {
	p.b = b
	p.chunkTokens = 0
	if p.names == nil {
		p.names = make(map[int]string, 64)
	} else {
		clear(p.names)
	}
}

func (p *chunkParser) newElem(name string) (*xelem, error) {
	p.elems++
	if p.elems > maxElems {
		return nil, errors.New("too many elements")
	}
	if len(p.arena) == cap(p.arena) {
		// A new block: the elements handed out keep pointing into the old.
		p.arena = make([]xelem, 0, max(64, 2*cap(p.arena)))
	}
	p.arena = append(p.arena, xelem{name: name})
	el := &p.arena[len(p.arena)-1]
	el.attrs, el.vals = el.attr0[:0:1], el.val0[:0:1]
	return el, nil
}

func (p *chunkParser) u8(off int) (byte, error) {
	if off < 0 || off >= len(p.b) {
		return 0, errBinXML
	}
	return p.b[off], nil
}

func (p *chunkParser) u16(off int) (int, error) {
	if off < 0 || off+2 > len(p.b) {
		return 0, errBinXML
	}
	return int(binary.LittleEndian.Uint16(p.b[off:])), nil
}

func (p *chunkParser) u32(off int) (int, error) {
	if off < 0 || off+4 > len(p.b) {
		return 0, errBinXML
	}
	return int(binary.LittleEndian.Uint32(p.b[off:])), nil
}

// utf16At decodes n UTF-16LE code units at off.
func (p *chunkParser) utf16At(off, n int) (string, error) {
	if off < 0 || n < 0 || off+2*n > len(p.b) {
		return "", errBinXML
	}
	p.text += n
	if p.text > maxTextBytes {
		return "", errors.New("record text too large")
	}
	return decodeUTF16(p.b[off:off+2*n], &p.strbuf), nil
}

func decodeUTF16(b []byte, buf *[]uint16) string {
	n := len(b) / 2
	if n == 0 {
		return ""
	}
	// ASCII, the common case, in one pass.
	s := make([]byte, n)
	i := 0
	for ; i < n; i++ {
		lo, hi := b[2*i], b[2*i+1]
		if hi != 0 || lo >= 0x80 {
			break
		}
		s[i] = lo
	}
	if i == n {
		return unsafe.String(&s[0], n) // s is not written again
	}
	u := (*buf)[:0]
	for i := 0; i < n; i++ {
		u = append(u, binary.LittleEndian.Uint16(b[2*i:]))
	}
	*buf = u
	out := make([]byte, 0, n+n/2)
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return string(out)
}

// name reads a name reference at off: the name's chunk offset, and the
// name itself when it is stored there (inline). It returns the name and
// the offset after the reference.
func (p *chunkParser) name(off int) (string, int, error) {
	no, err := p.u32(off)
	if err != nil {
		return "", 0, err
	}
	off += 4
	s, ok := p.names[no]
	if !ok {
		n, err := p.u16(no + 6)
		if err != nil {
			return "", 0, err
		}
		if s, err = p.utf16At(no+8, n); err != nil {
			return "", 0, err
		}
		p.names[no] = s
	}
	if no == off { // inline: skip it
		n, _ := p.u16(no + 6)
		off += 8 + 2*n + 2
	}
	return s, off, nil
}

// record parses the binary XML of one record, at [off, end).
func (p *chunkParser) record(off, end int) (*xelem, error) {
	p.chunkTokens += p.tokens
	p.elems, p.text, p.tokens = 0, 0, 0
	if p.chunkTokens > maxChunkTokens {
		return nil, errors.New("too many tokens in the chunk")
	}
	// The previous record's tree is no longer used: reuse its elements.
	clear(p.arena)
	p.arena = p.arena[:0]
	root := &xelem{}
	if _, err := p.fragment(off, end, nil, root, 0); err != nil {
		return nil, err
	}
	for _, k := range root.kids {
		if k.name == "Event" {
			return k, nil
		}
	}
	return nil, errors.New("no Event element")
}

// fragment reads tokens from off until EOF or end, appending elements to
// parent. subs are the substitution values of the template being
// instantiated, nil outside templates. It returns the offset after the
// fragment.
func (p *chunkParser) fragment(off, end int, subs []sub, parent *xelem, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("nesting too deep")
	}
	if end > len(p.b) {
		end = len(p.b)
	}
	stack := make([]*xelem, 1, 8)
	stack[0] = parent
	var attr *xattr // the attribute whose value is being read
	for off < end {
		if p.tokens++; p.tokens > maxTokens {
			return 0, errors.New("too many tokens")
		}
		tok := p.b[off]
		top := stack[len(stack)-1]
		switch tok & 0xBF {
		case 0x00: // EOF
			return off + 1, nil
		case 0x0F: // fragment header
			off += 4
		case 0x01: // open start element
			nm, next, err := p.name(off + 7)
			if err != nil {
				return 0, err
			}
			off = next
			if tok&0x40 != 0 {
				off += 4 // attribute list size
			}
			el, err := p.newElem(nm)
			if err != nil {
				return 0, err
			}
			if len(stack) > maxDepth {
				return 0, errors.New("nesting too deep")
			}
			top.kids = append(top.kids, el)
			stack = append(stack, el)
			attr = nil
			// An element's first token is its name's offset, 7 bytes in; the
			// offset just read (next) accounts for an inline name.
		case 0x02: // close start element
			attr = nil
			off++
		case 0x03, 0x04: // close empty element, end element
			attr = nil
			if len(stack) == 1 {
				return 0, errBinXML
			}
			stack = stack[:len(stack)-1]
			off++
		case 0x06: // attribute
			nm, next, err := p.name(off + 1)
			if err != nil {
				return 0, err
			}
			off = next
			if len(stack) == 1 {
				return 0, errBinXML
			}
			top.attrs = append(top.attrs, xattr{name: nm})
			attr = &top.attrs[len(top.attrs)-1]
			attr.val = attr.v0[:0:1]
		case 0x05: // value text
			n, err := p.u16(off + 2)
			if err != nil {
				return 0, err
			}
			s, err := p.utf16At(off+4, n)
			if err != nil {
				return 0, err
			}
			off += 4 + 2*n
			p.addVal(top, attr, xval{s: s})
		case 0x07: // CDATA
			n, err := p.u16(off + 1)
			if err != nil {
				return 0, err
			}
			s, err := p.utf16At(off+3, n)
			if err != nil {
				return 0, err
			}
			off += 3 + 2*n
			p.addVal(top, attr, xval{s: s})
		case 0x08: // character reference
			c, err := p.u16(off + 1)
			if err != nil {
				return 0, err
			}
			off += 3
			p.addVal(top, attr, xval{s: string(rune(c))})
		case 0x09: // entity reference
			nm, next, err := p.name(off + 1)
			if err != nil {
				return 0, err
			}
			off = next
			p.addVal(top, attr, xval{s: entity(nm)})
		case 0x0A: // PI target
			_, next, err := p.name(off + 1)
			if err != nil {
				return 0, err
			}
			off = next
		case 0x0B: // PI data
			n, err := p.u16(off + 1)
			if err != nil {
				return 0, err
			}
			off += 3 + 2*n
		case 0x0C: // template instance
			next, err := p.template(off, end, top, depth)
			if err != nil {
				return 0, err
			}
			off = next
		case 0x0D, 0x0E: // normal, optional substitution
			id, err := p.u16(off + 1)
			if err != nil {
				return 0, err
			}
			off += 4
			if id < len(subs) {
				if err := p.substitute(subs[id], top, attr, depth); err != nil {
					return 0, err
				}
			}
		default:
			return 0, errBinXML
		}
	}
	return off, nil
}

func entity(n string) string {
	switch n {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + n + ";"
}

func (p *chunkParser) addVal(top *xelem, attr *xattr, v xval) {
	if attr != nil {
		attr.val = append(attr.val, v)
		return
	}
	top.vals = append(top.vals, v)
}
