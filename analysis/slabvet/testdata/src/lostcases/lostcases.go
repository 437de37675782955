// Package lostcases holds the lostfree check's cases for objects held in a
// local struct, with its messages exactly as it reports them.
package lostcases

import (
	"errors"

	"github.com/slabtrack/slabtrack/slab"
)

type Buffer struct {
	B [512]byte
	N int
}

type encoder struct {
	buf *Buffer
	n   int
}

var (
	buffers  = slab.New[Buffer]()
	errEmpty = errors.New("empty")
	kept     []encoder
)

// encode writes into e.buf; it only borrows e.
func (e *encoder) encode(s string) error {
	if s == "" {
		return errEmpty
	}
	e.buf.N = copy(e.buf.B[:], s)
	e.n++
	return nil
}

// close frees e's buffer.
func (e *encoder) close() { buffers.Free(e.buf) }

func droppedOnError(s string) (int, error) {
	e := encoder{buf: buffers.Alloc()}
	if err := e.encode(s); err != nil {
		return 0, err // want `this return statement may be reached without freeing e.buf \(allocated on line 41\)`
	}
	n := e.buf.N
	buffers.Free(e.buf)
	return n, nil
}

func droppedOnErrorPointer(s string) (int, error) {
	e := &encoder{buf: buffers.Alloc()}
	if err := e.encode(s); err != nil {
		return 0, err // want `this return statement may be reached without freeing e.buf \(allocated on line 51\)`
	}
	defer e.close()
	return e.buf.N, nil
}

func freedOnError(s string) (int, error) {
	e := encoder{buf: buffers.Alloc()}
	if err := e.encode(s); err != nil {
		buffers.Free(e.buf)
		return 0, err
	}
	n := e.buf.N
	e.close()
	return n, nil
}

func deferredClose(s string) error {
	e := encoder{buf: buffers.Alloc()}
	defer e.close()
	return e.encode(s)
}

func returnedWithStruct(s string) (*encoder, error) {
	e := &encoder{buf: buffers.Alloc()}
	if err := e.encode(s); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func keptWithStruct(s string) {
	e := encoder{buf: buffers.Alloc()}
	_ = e.encode(s)
	kept = append(kept, e)
}
