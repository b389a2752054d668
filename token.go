package crmaccess

import (
	"context"
	"strconv"
	"strings"
)

// Token names a state of the store: the log position of a write. Every
// write returns one; a check or read given a token (WithToken) is decided
// on a state at least that fresh, on whichever Service it reaches. Tokens
// are opaque strings to their holders.
type Token string

// tokenPrefix marks a token's version, so that a later encoding can be told
// apart.
const tokenPrefix = "p"

func positionToken(pos int64) Token { return Token(tokenPrefix + strconv.FormatInt(pos, 10)) }

// ParseToken checks a token received from a client.
//
// Errors: EINVALID (not a token this library made).
func ParseToken(s string) (Token, error) {
	if _, err := Token(s).position(); err != nil {
		return "", err
	}
	return Token(s), nil
}

func (t Token) position() (int64, error) {
	digits, ok := strings.CutPrefix(string(t), tokenPrefix)
	// Canonical decimal only, so that a position has one token.
	if !ok || digits == "" || (digits[0] == '0' && digits != "0") || digits[0] == '+' || digits[0] == '-' {
		return 0, Errorf(EINVALID, "%q is not a consistency token", string(t))
	}
	pos, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, Errorf(EINVALID, "%q is not a consistency token", string(t))
	}
	return pos, nil
}

type tokenKey struct{}

// WithToken returns a context asking every check and read made with it to
// be decided on a state at least as fresh as the write that returned t: the
// Service first waits, bounded by ctx, until it has applied that write. An
// empty t asks for nothing. A t that ParseToken refuses fails those calls
// with EINVALID.
func WithToken(ctx context.Context, t Token) context.Context {
	if t == "" {
		return ctx
	}
	return context.WithValue(ctx, tokenKey{}, t)
}

// wantedPosition returns the position ctx asks for, 0 when none.
func wantedPosition(ctx context.Context) (int64, error) {
	t, _ := ctx.Value(tokenKey{}).(Token)
	if t == "" {
		return 0, nil
	}
	return t.position()
}

// Token returns the token of the state this Service's memory holds now.
func (s *Service) Token() Token { return positionToken(s.applied.Load()) }

// WaitFor returns once this Service's memory holds a state at least as
// fresh as t, catching up from the log as needed, or when ctx ends. Checks
// and reads made with WithToken(ctx, t) do the same first.
//
// Errors: EINVALID (a malformed token), EUNAVAILABLE (the state was not
// reached before ctx ended), EINTERNAL.
func (s *Service) WaitFor(ctx context.Context, t Token) error {
	return s.fresh(WithToken(ctx, t))
}
