package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/registry"
	"github.com/hive-dev/hive/server"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the hive: git over HTTP with a gated push, the JSON API, web pages",
		Description: "Without --repo, serves the hive in the current folder, or else the default hive\n" +
			"($HIVE_HOME, else $XDG_DATA_HOME/hive/default, else ~/.local/share/hive/default), created on first use.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "the address to listen on"},
			&cli.StringFlag{Name: "url", Usage: "the public URL clients reach the server at, shown in the pages' clone commands (default: from --addr)"},
			&cli.StringFlag{Name: "tls-cert", Usage: "a PEM certificate: serve HTTPS"},
			&cli.StringFlag{Name: "tls-key", Usage: "the certificate's PEM private key"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json"},
			stateFlag,
			&cli.BoolFlag{Name: "private", Usage: "reads need a token too (all routes but /healthz)"},
			&cli.IntFlag{Name: "write-limit", Value: int(server.DefaultLimits.Writes.PerMinute), Usage: "writes (POST, git push) a minute per token or client address; 0: no limit"},
			&cli.IntFlag{Name: "search-limit", Value: int(server.DefaultLimits.Searches.PerMinute), Usage: "searches and /instances a minute per token or client address; 0: no limit"},
			&cli.IntFlag{Name: "git-backends", Value: server.DefaultLimits.GitBackends, Usage: "git backends (clone, fetch, push) at once; more wait, then get 503"},
			&cli.DurationFlag{Name: "git-timeout", Value: server.DefaultLimits.GitTimeout, Usage: "the longest a git request may take"},
			&cli.IntFlag{Name: "conns-per-addr", Value: server.DefaultLimits.ConnsPerAddr, Usage: "connections one client address may hold open"},
		},
		Subcommands: []*cli.Command{tokenCommand()},
		Action: func(c *cli.Context) error {
			if (c.String("tls-cert") == "") != (c.String("tls-key") == "") {
				return usagef("--tls-cert and --tls-key go together")
			}
			var h slog.Handler = slog.NewTextHandler(c.App.ErrWriter, nil)
			switch c.String("log-format") {
			case "json":
				h = slog.NewJSONHandler(c.App.ErrWriter, nil)
			case "text":
			default:
				return usagef("--log-format must be text or json")
			}
			log := slog.New(h)
			dir, err := serveDir(c, log)
			if err != nil {
				return err
			}
			opts, err := serveOptions(c, dir)
			if err != nil {
				return err
			}
			opts.Log = log
			if opts.URL = c.String("url"); opts.URL != "" {
				if _, err := server.CheckURL(opts.URL); err != nil {
					return usagef("--url: %v", err)
				}
			}
			srv, err := server.New(dir, opts)
			if err != nil {
				return err
			}
			defer srv.Close()
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return srv.Run(ctx, c.String("addr"), c.String("tls-cert"), c.String("tls-key"))
		},
	}
}

// defaultHive is the hive `hive serve` keeps when given none: $HIVE_HOME,
// else $XDG_DATA_HOME/hive/default, else ~/.local/share/hive/default (the
// XDG base directory rule: a relative XDG_DATA_HOME is ignored).
func defaultHive() (string, error) {
	if dir := os.Getenv("HIVE_HOME"); dir != "" {
		return dir, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "hive", "default"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "hive", "default"), nil
}

// hiveToServe is the hive to serve: --repo, the current folder if it is a
// hive, or the default hive, which may not exist yet.
func hiveToServe(c *cli.Context) (string, error) {
	repo, err := hiveDir(c)
	if c.IsSet("repo") {
		return repo, nil
	}
	if err != nil {
		return defaultHive()
	}
	if s, err := registry.Open(repo); err == nil {
		_, err := s.Config() // a git repository with a main that is a hive
		s.Close()
		if err == nil {
			return repo, nil
		}
	}
	return defaultHive()
}

// serveDir is the hive to serve (hiveToServe), the default hive created
// when missing.
func serveDir(c *cli.Context, log *slog.Logger) (string, error) {
	dir, err := hiveToServe(c)
	if err != nil {
		return dir, err
	}
	s, err := registry.Open(dir)
	if err == nil {
		s.Close()
		return dir, nil
	}
	if !errors.Is(err, registry.ErrNotFound) || c.IsSet("repo") {
		return "", notHive(err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if s, err = registry.Init(dir, registry.InitOptions{Name: "default"}); err != nil {
		return "", fmt.Errorf("create the default hive: %w", err)
	}
	s.Close()
	log.Info("created a hive", "dir", dir)
	return dir, nil
}
