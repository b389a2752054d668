package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/crmaccess/crmaccess"
	"github.com/crmaccess/crmaccess/fixture"
)

// demoToken is a row of the server's own table in the same database: the
// bearer token of a demo user. crmaccess keeps no credentials; this table is
// the host's business, which is why it survives restarts beside the data.
type demoToken struct {
	Token  string `gorm:"primaryKey;size:128"`
	UserID string `gorm:"size:36;not null;index"`
}

func (demoToken) TableName() string { return "demo_tokens" }

// saveTokens stores a token for every user of the fixture: the one the
// fixture gives, or a random one.
func saveTokens(ctx context.Context, db *gorm.DB, fx *fixture.File) error {
	rows := make([]demoToken, 0, len(fx.Users))
	for _, u := range fx.Users {
		token := u.Token
		if token == "" {
			b := make([]byte, 16)
			if _, err := io.ReadFull(rand.Reader, b); err != nil {
				return err
			}
			token = hex.EncodeToString(b)
		}
		rows = append(rows, demoToken{Token: token, UserID: u.ID})
	}
	if len(rows) == 0 {
		return nil
	}
	return db.WithContext(ctx).Create(&rows).Error
}

// loadTokens returns the stored tokens: token → user id.
func loadTokens(ctx context.Context, db *gorm.DB) (map[string]string, error) {
	var rows []demoToken
	if err := db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, err
	}
	tokens := make(map[string]string, len(rows))
	for _, r := range rows {
		tokens[r.Token] = r.UserID
	}
	return tokens, nil
}

// printTokens lists the demo users and their tokens.
func printTokens(ctx context.Context, w io.Writer, svc *crmaccess.Service, tokens map[string]string) error {
	if len(tokens) == 0 {
		fmt.Fprintln(w, "No demo tokens are stored in this database: every request will be refused with 401.")
		return nil
	}
	ids := make([]string, 0, len(tokens))
	byUser := map[string]string{}
	for token, id := range tokens {
		ids = append(ids, id)
		byUser[id] = token
	}
	users, err := svc.Users(ctx, ids)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.DisplayName
	}
	sort.Slice(ids, func(i, j int) bool { return byUser[ids[i]] < byUser[ids[j]] })
	fmt.Fprintln(w, `Demo users (send "Authorization: Bearer TOKEN"):`)
	for _, id := range ids {
		role := ""
		if admin, _ := svc.IsAdmin(ctx, id); admin {
			role = " (admin)"
		}
		fmt.Fprintf(w, "  %-12s %-22s %s\n", byUser[id], names[id]+role, id)
	}
	return nil
}

// bearer authenticates "Authorization: Bearer TOKEN" against the stored
// tokens. An unknown token makes it read the token table again (at most
// once a second), since another server over the same database may have
// stored tokens after this one started.
func bearer(ctx context.Context, db *gorm.DB, tokens map[string]string) func(*http.Request) (string, error) {
	var (
		mu     sync.Mutex
		loaded = time.Now()
	)
	find := func(token string) (string, bool) {
		for t, id := range tokens {
			if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
				return id, true
			}
		}
		return "", false
	}
	return func(r *http.Request) (string, error) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", errNoToken
		}
		mu.Lock()
		defer mu.Unlock()
		if id, ok := find(token); ok {
			return id, nil
		}
		if time.Since(loaded) > time.Second {
			loaded = time.Now()
			if fresh, err := loadTokens(ctx, db); err == nil {
				tokens = fresh
				if id, ok := find(token); ok {
					return id, nil
				}
			}
		}
		return "", errors.New("unknown token")
	}
}
