// Package csvread reads SIS CSV files: it classifies their encoding while
// they stream in and then splits them into records the way Canvas does
// (RFC 4180 quoting, any line ends, trimmed fields, blank lines skipped),
// reporting malformed records without giving up on the rest of the file.
//
// The reader is lenient where Canvas users' files commonly are and strict
// where guessing would corrupt data: blanks may surround a quoted field
// (` "a b" ,c`), but a quote inside an unquoted field or text after a
// closing quote makes the record a RowError, and the reader starts again on
// the next physical line.
package csvread

// Encoding is the classification of a whole file, computed by a Sniffer
// while the upload streams in.
type Encoding int

const (
	// UTF8 is valid UTF-8, with or without a byte order mark; pure ASCII is
	// UTF8 too.
	UTF8 Encoding = iota
	// Windows1252 is a file that is not valid UTF-8 and holds no valid
	// multi-byte UTF-8 sequence at all, which is what Excel's default
	// export produces for accented names.
	Windows1252
	// Invalid is a file that mixes valid multi-byte UTF-8 with invalid
	// bytes. Re-reading it as Windows-1252 would turn every correctly
	// encoded accent into mojibake, so it must be rejected instead.
	Invalid
)

// String returns the name used in messages: "utf-8", "windows-1252" or
// "invalid".
func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "utf-8"
	case Windows1252:
		return "windows-1252"
	case Invalid:
		return "invalid"
	}
	return "unknown"
}

// Sniffer classifies a byte stream incrementally. It implements io.Writer so
// that it can sit in an io.TeeReader or io.MultiWriter while an upload is
// streamed to storage. It uses constant memory and accepts a multi-byte
// sequence split across Write calls. The zero value is ready to use.
type Sniffer struct {
	need       int  // continuation bytes still expected by the pending sequence
	lo, hi     byte // accepted range for the next continuation byte
	lineEnds   int  // LF, CRLF and lone CR seen so far
	prevCR     bool // the previous byte was CR, so an LF now completes CRLF
	validMulti bool // at least one complete, valid multi-byte sequence seen
	badLine    int  // 1-based line of the first invalid byte; 0 while none
}

// Write feeds p to the classifier. It never fails.
func (s *Sniffer) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if s.need > 0 {
			if c >= s.lo && c <= s.hi {
				s.need--
				s.lo, s.hi = 0x80, 0xBF
				if s.need == 0 {
					s.validMulti = true
				}
				continue
			}
			// The pending sequence is cut short; its lead byte is the
			// invalid one and it sits on the current line, since no line
			// end can occur inside a sequence. c starts afresh below.
			s.need = 0
			s.markBad()
		}
		if c < 0x80 {
			if s.badLine != 0 {
				if s.validMulti {
					return len(p), nil // the verdict can no longer change
				}
				continue // line numbers are no longer needed
			}
			switch c {
			case '\n':
				if !s.prevCR {
					s.lineEnds++
				}
				s.prevCR = false
			case '\r':
				s.lineEnds++
				s.prevCR = true
			default:
				s.prevCR = false
			}
			continue
		}
		s.prevCR = false
		s.lead(c)
	}
	return len(p), nil
}

// lead starts a multi-byte sequence at c, using the ranges of RFC 3629 so
// that overlong forms, surrogates and code points above U+10FFFF count as
// invalid, exactly as unicode/utf8 judges them.
func (s *Sniffer) lead(c byte) {
	s.lo, s.hi = 0x80, 0xBF
	switch {
	case c >= 0xC2 && c <= 0xDF:
		s.need = 1
	case c == 0xE0:
		s.need, s.lo = 2, 0xA0
	case c == 0xED:
		s.need, s.hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		s.need = 2
	case c == 0xF0:
		s.need, s.lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		s.need = 3
	case c == 0xF4:
		s.need, s.hi = 3, 0x8F
	default:
		s.markBad()
	}
}

func (s *Sniffer) markBad() {
	if s.badLine == 0 {
		s.badLine = s.lineEnds + 1
	}
}

// Result returns the classification of everything written so far and, for
// Invalid, the 1-based line number of the first invalid byte, counting LF,
// CRLF and lone CR as line ends. A multi-byte sequence still incomplete
// when Result is called counts as invalid, so call it after the last Write.
func (s *Sniffer) Result() (enc Encoding, firstBadLine int) {
	bad := s.badLine
	if bad == 0 && s.need > 0 {
		bad = s.lineEnds + 1
	}
	switch {
	case bad == 0:
		return UTF8, 0
	case s.validMulti:
		return Invalid, bad
	default:
		return Windows1252, 0
	}
}
