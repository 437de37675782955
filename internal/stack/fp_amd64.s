#include "textflag.h"

// func framePointer() unsafe.Pointer
//
// framePointer returns the frame pointer of its caller: with no frame of its
// own (NOFRAME), BP still holds the caller's.
TEXT ·framePointer(SB),NOSPLIT|NOFRAME,$0-8
	MOVQ	BP, ret+0(FP)
	RET
