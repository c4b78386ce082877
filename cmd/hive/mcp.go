package main

import (
	"net/http"
	"net/url"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hive-dev/hive/client"
	"github.com/hive-dev/hive/mcp"
	"github.com/hive-dev/hive/schema"
)

func mcpCommand() *cli.Command {
	return &cli.Command{
		Name:  "mcp",
		Usage: "serve the hive to an agent over the Model Context Protocol (stdio): search, read and use skills",
		Description: "Tools: search_skills, get_skill, use_skill, skill_lineage; publish_skill and report_outcome only with --publish.\n" +
			"Resources: hive://skills/{id}. See docs/agents.md for a client's configuration.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "instance", Usage: "the instance this agent is: publish_skill and report_outcome sign with its key"},
			&cli.BoolFlag{Name: "publish", Usage: "offer publish_skill and report_outcome: let the agent add skills and report outcomes signed with --instance's key"},
			&cli.StringFlag{Name: "server", Usage: "with --publish: post to this hive server instead of committing to the local hive"},
			tokenFlag,
		},
		Action: func(c *cli.Context) error {
			inst := c.String("instance")
			if inst != "" && !schema.ValidInstanceID(inst) {
				return usagef("--instance %s must match %s", schema.Quote(inst, 70), schema.InstanceIDPattern)
			}
			if c.Bool("publish") && inst == "" {
				return usagef("--publish needs --instance: the instance whose key signs what the agent publishes")
			}
			if c.IsSet("server") && !c.Bool("publish") {
				return usagef("--server is where publish_skill and report_outcome post: it needs --publish")
			}
			if err := checkServerURL(c.String("server")); err != nil {
				return err
			}
			o := mcp.Options{Version: readBuildInfo().Version, Publish: c.Bool("publish"), Instance: inst, Prepare: true}
			if o.Publish {
				keys, err := keyFunc(c)
				if err != nil {
					return err
				}
				if _, err := keys(inst); err != nil { // fail now, not at the agent's first publish
					return err
				}
				o.Keys = keys
			}
			if c.String("server") != "" {
				o.Server = serverClient(c)
			}
			dir, err := hiveDir(c)
			if err != nil {
				return notHive(err)
			}
			src, err := mcp.OpenLocal(dir, notify(c))
			if err != nil {
				return notHive(err)
			}
			defer src.Close()
			srv, err := mcp.New(src, o)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return srv.Run(ctx, mcp.Stdio(c.App.Reader, c.App.Writer))
		},
	}
}

// tokenFlag is the API token that writes to a server with tokens.
var tokenFlag = &cli.StringFlag{Name: "token", EnvVars: []string{"HIVE_TOKEN"}, Usage: "the API token to write to --server with, when it has tokens (hive serve token add)"}

// serverClient is a client of --server that presents --token, if any.
func serverClient(c *cli.Context) *client.Client {
	cl := client.New(c.String("server"))
	if t := c.String("token"); t != "" {
		cl.HTTP = &http.Client{Transport: client.TokenTransport(c.String("server"), t, nil)}
	}
	return cl
}

// checkServerURL refuses a --server that is not an http(s) URL.
func checkServerURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--server %s: want http://HOST:PORT or https://HOST", schema.Quote(s, 100))
	}
	return nil
}
