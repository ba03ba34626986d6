package winevent

// template reads a template instance at off and instantiates it into top.
func (p *chunkParser) template(off, end int, top *xelem, depth int) (int, error) {
	def, err := p.u32(off + 6)
	if err != nil {
		return 0, err
	}
	off += 10
	if def == off { // the definition follows inline
		size, err := p.u32(def + 20)
		if err != nil {
			return 0, err
		}
		off = def + 24 + size
	}
	size, err := p.u32(def + 20)
	if err != nil {
		return 0, err
	}
	body, bodyEnd := def+24, def+24+size
	if bodyEnd > len(p.b) || bodyEnd < body {
		return 0, errBinXML
	}
	n, err := p.u32(off)
	if err != nil {
		return 0, err
	}
	off += 4
	if n > (len(p.b)-off)/4 {
		return 0, errBinXML
	}
	subs := make([]sub, n)
	data := off + 4*n
	for i := range subs {
		sz, _ := p.u16(off + 4*i)
		subs[i] = sub{typ: p.b[off+4*i+2], off: data, size: sz}
		data += sz
	}
	if data > len(p.b) {
		return 0, errBinXML
	}
	if _, err := p.fragment(body, bodyEnd, subs, top, depth+1); err != nil {
		return 0, err
	}
	return data, nil
}

// substitute puts one substitution value into top (or the attribute).
func (p *chunkParser) substitute(s sub, top *xelem, attr *xattr, depth int) error {
	if s.typ == 0 || s.size == 0 {
		return nil
	}
	if (s.typ == 0x11 || s.typ == 0x12) && allZero(p.b[s.off:s.off+s.size]) {
		// A FILETIME or SYSTEMTIME of 0 is Windows saying "no time": no
		// value, like a null substitution, not a date in 1601.
		return nil
	}
	if s.typ == 0x21 { // nested binary XML
		_, err := p.fragment(s.off, s.off+s.size, nil, top, depth+1)
		return err
	}
	v, err := p.value(s)
	if err != nil {
		return err
	}
	p.addVal(top, attr, v)
	return nil
}
