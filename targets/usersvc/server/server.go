// Package server is the seed's user microservice: users and their balances
// in PostgreSQL, behind a small REST API. Several replicas of it serve the
// same database. It exists to be tested: Mode selects how a transfer is
// done, correctly (one SQL transaction that locks both rows) or with the
// classic bug (read-modify-write in separate statements, outside any
// transaction), which loses updates and makes money appear or vanish under
// concurrency.
//
//	POST /users            {"ids":["a0","a1"],"balance":20}  create users (absent ones only), one transaction
//	GET  /users/{id}       {"id":"a0","balance":20}           404 if absent
//	POST /transfers        {"from":"a0","to":"a1","amount":3} 200 done; 409 insufficient funds or conflict (nothing done); 404 unknown user
//	GET  /balances         {"a0":20,"a1":20}                  every balance, one snapshot
//	GET  /health           200 once the database answers
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Modes of a transfer.
const (
	// Transactional: one transaction that locks both rows (SELECT ... FOR
	// UPDATE, in id order so that two transfers cannot deadlock), checks
	// the balance and updates both.
	Transactional = "transactional"
	// NonTransactional is the known-bad mode: read both balances, then
	// write the computed ones back, each statement on its own.
	NonTransactional = "non-transactional"
)

const schema = `CREATE TABLE IF NOT EXISTS users (id text PRIMARY KEY, balance bigint NOT NULL)`

// Server is the HTTP service.
type Server struct {
	db   *pgxpool.Pool
	mode string
	mux  *http.ServeMux
}

// New returns the service on db; it creates its table if absent.
func New(ctx context.Context, db *pgxpool.Pool, mode string) (*Server, error) {
	if mode != Transactional && mode != NonTransactional {
		return nil, fmt.Errorf("usersvc: mode %q: want %s or %s", mode, Transactional, NonTransactional)
	}
	s := &Server{db: db, mode: mode, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("POST /users", s.createUsers)
	s.mux.HandleFunc("GET /users/{id}", s.getUser)
	s.mux.HandleFunc("POST /transfers", s.transfer)
	s.mux.HandleFunc("GET /balances", s.balances)
	return s, nil
}

// Migrate creates the table, retried until the database answers or ctx
// ends (the database may start after the service).
func (s *Server) Migrate(ctx context.Context) error {
	for {
		_, err := s.db.Exec(ctx, schema)
		if err == nil || isUniqueViolation(err) { // two replicas creating it at once
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("usersvc: create table: %w", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func replyErr(w http.ResponseWriter, code int, err error) {
	reply(w, code, map[string]string{"error": err.Error()})
}

// dbErr answers a database error: 409 when PostgreSQL certainly rolled the
// transaction back (serialization failure, deadlock), else 503 (the
// outcome is unknown to the caller: the commit may have happened).
func dbErr(w http.ResponseWriter, err error) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01") {
		replyErr(w, http.StatusConflict, err)
		return
	}
	replyErr(w, http.StatusServiceUnavailable, err)
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	var one int
	if err := s.db.QueryRow(r.Context(), "SELECT 1 FROM users LIMIT 1").Scan(&one); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		replyErr(w, http.StatusServiceUnavailable, err)
		return
	}
	reply(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) createUsers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs     []string `json:"ids"`
		Balance int64    `json:"balance"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || len(req.IDs) == 0 || req.Balance < 0 {
		replyErr(w, http.StatusBadRequest, errors.New(`want {"ids":[...],"balance":N>=0}`))
		return
	}
	err := pgx.BeginFunc(r.Context(), s.db, func(tx pgx.Tx) error {
		for _, id := range req.IDs {
			if _, err := tx.Exec(r.Context(), `INSERT INTO users (id, balance) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, req.Balance); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		dbErr(w, err)
		return
	}
	reply(w, http.StatusOK, map[string]int{"created": len(req.IDs)})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var bal int64
	err := s.db.QueryRow(r.Context(), `SELECT balance FROM users WHERE id = $1`, id).Scan(&bal)
	if errors.Is(err, pgx.ErrNoRows) {
		replyErr(w, http.StatusNotFound, fmt.Errorf("no user %q", id))
		return
	}
	if err != nil {
		dbErr(w, err)
		return
	}
	reply(w, http.StatusOK, map[string]any{"id": id, "balance": bal})
}

// balances is one statement: PostgreSQL reads it from one snapshot.
func (s *Server) balances(w http.ResponseWriter, r *http.Request) {
	rows, err := s.db.Query(r.Context(), `SELECT id, balance FROM users`)
	if err != nil {
		dbErr(w, err)
		return
	}
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var b int64
		if err := rows.Scan(&id, &b); err != nil {
			rows.Close()
			dbErr(w, err)
			return
		}
		out[id] = b
	}
	if err := rows.Err(); err != nil {
		dbErr(w, err)
		return
	}
	reply(w, http.StatusOK, out)
}

// errRefused is a transfer refused before anything changed.
type errRefused struct {
	code int
	msg  string
}

func (e *errRefused) Error() string { return e.msg }

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	var t struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Amount int64  `json:"amount"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&t); err != nil || t.From == "" || t.To == "" || t.From == t.To || t.Amount <= 0 {
		replyErr(w, http.StatusBadRequest, errors.New(`want {"from":A,"to":B,"amount":N>0} with A != B`))
		return
	}
	var err error
	if s.mode == NonTransactional {
		err = s.transferRMW(r.Context(), t.From, t.To, t.Amount)
	} else {
		err = s.transferTx(r.Context(), t.From, t.To, t.Amount)
	}
	var ref *errRefused
	switch {
	case err == nil:
		reply(w, http.StatusOK, map[string]string{"status": "done"})
	case errors.As(err, &ref):
		replyErr(w, ref.code, ref)
	default:
		dbErr(w, err)
	}
}

// transferTx locks both rows in id order, checks and moves the money, in
// one transaction.
func (s *Server) transferTx(ctx context.Context, from, to string, amount int64) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		first, second := from, to
		if second < first {
			first, second = second, first
		}
		bal := map[string]int64{}
		for _, id := range []string{first, second} {
			var b int64
			err := tx.QueryRow(ctx, `SELECT balance FROM users WHERE id = $1 FOR UPDATE`, id).Scan(&b)
			if errors.Is(err, pgx.ErrNoRows) {
				return &errRefused{http.StatusNotFound, fmt.Sprintf("no user %q", id)}
			}
			if err != nil {
				return err
			}
			bal[id] = b
		}
		if bal[from] < amount {
			return &errRefused{http.StatusConflict, fmt.Sprintf("insufficient funds: %s has %d", from, bal[from])}
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET balance = balance - $2 WHERE id = $1`, from, amount); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE users SET balance = balance + $2 WHERE id = $1`, to, amount)
		return err
	})
}

// transferRMW is the bug: each statement commits on its own, and the new
// balances are computed from values another transfer may have changed in
// between (lost updates; a crash between the two writes loses the money).
func (s *Server) transferRMW(ctx context.Context, from, to string, amount int64) error {
	var fb, tb int64
	for _, p := range []struct {
		id string
		b  *int64
	}{{from, &fb}, {to, &tb}} {
		err := s.db.QueryRow(ctx, `SELECT balance FROM users WHERE id = $1`, p.id).Scan(p.b)
		if errors.Is(err, pgx.ErrNoRows) {
			return &errRefused{http.StatusNotFound, fmt.Sprintf("no user %q", p.id)}
		}
		if err != nil {
			return err
		}
	}
	if fb < amount {
		return &errRefused{http.StatusConflict, fmt.Sprintf("insufficient funds: %s has %d", from, fb)}
	}
	// The window the bug lives in (a service doing other work between its
	// read and its write, as raftkv's non-atomic-cas): on a quiet machine
	// statements take a millisecond and two transfers would rarely meet.
	time.Sleep(5 * time.Millisecond)
	if _, err := s.db.Exec(ctx, `UPDATE users SET balance = $2 WHERE id = $1`, from, fb-amount); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `UPDATE users SET balance = $2 WHERE id = $1`, to, tb+amount)
	return err
}
