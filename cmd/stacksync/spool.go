package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// spoolMemory is how many bytes a spool holds in memory before it moves
// them to a temporary file.
const spoolMemory = 4 << 20

// spool holds output until it can be written: in memory up to spoolMemory
// bytes, then in a temporary file, removed by close. Write errors stick:
// Err returns the first.
type spool struct {
	// limit replaces spoolMemory when above zero.
	limit int
	mem   bytes.Buffer
	f     *os.File
	fw    *bufio.Writer
	gone  bool // the file is already removed from its directory
	err   error
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	limit := spoolMemory
	if s.limit > 0 {
		limit = s.limit
	}
	if s.f == nil && s.mem.Len()+len(p) <= limit {
		return s.mem.Write(p)
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "stacksync-audit-*")
		if err != nil {
			s.err = fmt.Errorf("spooling the report: %w; set TMPDIR to a writable directory", err)
			return 0, s.err
		}
		// Where an open file can be removed, nothing is left behind
		// even if the process is killed.
		s.f, s.fw, s.gone = f, bufio.NewWriterSize(f, 64<<10), os.Remove(f.Name()) == nil
		if _, err := s.fw.Write(s.mem.Bytes()); err != nil {
			return 0, s.fail(err)
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.fw.Write(p)
	if err != nil {
		return n, s.fail(err)
	}
	return n, nil
}

func (s *spool) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

func (s *spool) fail(err error) error {
	s.err = fmt.Errorf("spooling the report to %s: %w", s.f.Name(), err)
	return s.err
}

// Err returns the first write error.
func (s *spool) Err() error { return s.err }

// open returns a reader of everything written.
func (s *spool) open() (io.Reader, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.f == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if err := s.fw.Flush(); err != nil {
		return nil, s.fail(err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, s.fail(err)
	}
	return bufio.NewReaderSize(s.f, 64<<10), nil
}

// copyTo copies everything written to w.
func (s *spool) copyTo(w io.Writer) error {
	r, err := s.open()
	if err != nil {
		return err
	}
	_, err = io.Copy(w, r)
	return err
}

// eachLine calls fn with each line written, without its newline.
func (s *spool) eachLine(fn func(string)) error {
	r, err := s.open()
	if err != nil {
		return err
	}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			fn(line[:len(line)-1])
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// close releases the temporary file, if any.
func (s *spool) close() {
	if s.f == nil {
		return
	}
	s.f.Close()
	if !s.gone {
		os.Remove(s.f.Name())
	}
	s.f = nil
}
