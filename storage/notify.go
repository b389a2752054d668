package storage

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess"
)

var _ crmaccess.Notifier = (*Store)(nil)

// Notify wakes the caller whenever a write of any process commits: on
// PostgreSQL (through pgx) it LISTENs on a connection of its own to the
// channel Update notifies; elsewhere it returns a nil channel and the
// caller relies on polling. A lost connection is opened again after a
// pause; a wake-up is sent then, since notifications may have been missed.
func (s *Store) Notify(ctx context.Context) (<-chan struct{}, error) {
	if !s.d.postgres() {
		return nil, nil
	}
	wake := make(chan struct{}, 1)
	send := func() {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	go func() {
		for ctx.Err() == nil {
			err := s.listen(ctx, send)
			if ctx.Err() != nil || err == errNotPgx {
				return
			}
			send()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return wake, nil
}

var errNotPgx = crmaccess.Errorf(crmaccess.EINTERNAL, "storage: LISTEN needs the pgx driver")

// listen holds one connection LISTENing until ctx ends or it fails.
func (s *Store) listen(ctx context.Context, send func()) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return errNotPgx
		}
		pc := c.Conn()
		if _, err := pc.Exec(ctx, `LISTEN `+s.t.log); err != nil {
			return err
		}
		// The connection goes back to the pool when this ends: stop
		// listening on it first (ctx may be over).
		defer pc.Exec(context.WithoutCancel(ctx), `UNLISTEN `+s.t.log) //nolint:errcheck // best effort
		send()                                                         // writes may have committed before LISTEN took effect
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				return err
			}
			send()
		}
	})
}
