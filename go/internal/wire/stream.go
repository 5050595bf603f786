package wire

// Framing on a byte stream, for macOS: AF_UNIX has no SOCK_SEQPACKET there, and
// the darwin helper carries no fds, so each message is one JSON object on one line
// (encoding/json escapes every control character in strings, so a marshalled
// message never holds a newline). Pure Go: tested on Linux.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// WriteLine sends m on w as one line. The caller serialises writes on one stream.
func WriteLine(w io.Writer, m Msg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// LineReader reads the messages of a stream, one per line, each at most MaxMsg
// bytes.
type LineReader struct{ r *bufio.Reader }

// NewLineReader reads from r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// ErrLineTooLong is returned (wrapping ErrBadMsg) for a line over MaxMsg: it is
// skipped up to its end, and reading can go on.
var ErrLineTooLong = fmt.Errorf("%w: line longer than %d bytes", ErrBadMsg, MaxMsg)

// Next returns the next message, checked by Decode. io.EOF at the end of the
// stream (a last line without its newline is not a message: the peer died while
// writing it); an error wrapping ErrBadMsg for a line that fails its checks, after
// which reading can go on (the message is returned as far as it was decoded).
func (l *LineReader) Next() (Msg, error) {
	var line []byte
	tooLong := false
	for {
		part, err := l.r.ReadSlice('\n')
		if !tooLong {
			line = append(line, part...)
			if len(line) > MaxMsg+1 {
				tooLong, line = true, nil
			}
		}
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			return Msg{}, io.EOF
		}
		return Msg{}, err
	}
	if tooLong {
		return Msg{}, ErrLineTooLong
	}
	return Decode(line[:len(line)-1])
}
