// Command usersvc runs the user microservice (targets/usersvc/server):
//
//	usersvc -listen :8080 -db postgres://postgres@n1:5432/postgres -mode transactional
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline/faultline/targets/usersvc/server"
)

func main() {
	listen := flag.String("listen", ":8080", "address to serve HTTP on")
	dsn := flag.String("db", "", "PostgreSQL connection string")
	mode := flag.String("mode", server.Transactional, "transfer mode: transactional or non-transactional (the known bug)")
	conns := flag.Int("conns", 16, "database connections")
	flag.Parse()
	if *dsn == "" {
		fmt.Fprintln(os.Stderr, "usersvc: -db is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := pgxpool.ParseConfig(*dsn)
	if err != nil {
		log.Fatalf("usersvc: -db: %v", err)
	}
	cfg.MaxConns = int32(*conns)
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatalf("usersvc: %v", err)
	}
	defer db.Close()
	s, err := server.New(ctx, db, *mode)
	if err != nil {
		log.Fatal(err)
	}
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = s.Migrate(mctx)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Addr: *listen, Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		defer c()
		_ = hs.Shutdown(sctx)
	}()
	log.Printf("usersvc: %s mode, serving on %s", *mode, *listen)
	if err := hs.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
