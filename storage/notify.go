package storage

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/crmaccess/crmaccess"
)

var _ crmaccess.Notifier = (*Store)(nil)

// Notify sends the position of every write any process commits: on
// PostgreSQL (through pgx) it LISTENs on a connection of its own to the
// channel Update notifies (the payload is the position); elsewhere it
// returns a nil channel and the caller relies on polling. A lost
// connection is opened again after a pause; 0 is sent then, since
// notifications may have been missed.
func (s *Store) Notify(ctx context.Context) (<-chan int64, error) {
	if !s.d.postgres() {
		return nil, nil
	}
	wake := make(chan int64, 1)
	send := func(pos int64) {
		for {
			select {
			case wake <- pos:
				return
			case pending := <-wake: // merge: the newest, or 0 (unknown) if either is
				if pending == 0 || pos == 0 {
					pos = 0
				} else {
					pos = max(pos, pending)
				}
			}
		}
	}
	go func() {
		for ctx.Err() == nil {
			err := s.listen(ctx, send)
			if ctx.Err() != nil || err == errNotPgx {
				return
			}
			send(0)
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
func (s *Store) listen(ctx context.Context, send func(int64)) error {
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
		send(0)                                                        // writes may have committed before LISTEN took effect
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			pos, err := strconv.ParseInt(n.Payload, 10, 64)
			if err != nil {
				pos = 0 // not ours to name: read the log
			}
			send(pos)
		}
	})
}
