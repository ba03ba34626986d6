package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/render"
)

func newTokenCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens", Example: `  spoor token create --org acme --role ingest --name "web fleet agents"
  spoor token list
  spoor token revoke 9d84a173fbfd`}
	cmd.PersistentFlags().StringVar(&data, "data", envOr("SPOOR_DATA", "./spoor-data"), "data directory ($SPOOR_DATA)")
	open := func() (*auth.Store, error) { return auth.Open(filepath.Join(data, "tokens.json")) }

	var org, role, name string
	create := &cobra.Command{
		Use:   "create --org ORG --role admin|analyst|ingest [--name NAME]",
		Short: "Create a token; it is printed once and stored only as a hash",
		Example: `  # For agents and ingest clients: they write events and read nothing
  spoor token create --org acme --role ingest --name "web fleet agents"

  # For an analyst: searches, hunts, alerts; an admin also edits rules
  spoor token create --data /srv/spoor --org acme --role analyst --name alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			secret, t, err := s.Create(org, auth.Role(role), name)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s: %s of organization %s (the secret above is not stored; keep it)\n", t.ID, t.Role, t.Org)
			return nil
		},
	}
	create.Flags().StringVar(&org, "org", "", "organization the token reads and writes")
	create.Flags().StringVar(&role, "role", "analyst", "admin, analyst or ingest")
	create.Flags().StringVar(&name, "name", "", "a note on who holds it")

	list := &cobra.Command{
		Use:     "list",
		Short:   "List tokens (never their secrets)",
		Example: `  spoor token list --data /srv/spoor`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			return listTokens(cmd.OutOrStdout(), s.List())
		},
	}
	revoke := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token: its id, from spoor token list",
		Example: `  spoor token revoke 9d84a173fbfd`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			if err := s.Revoke(args[0]); err != nil {
				return usageError{err}
			}
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func listTokens(out io.Writer, ts []auth.Token) error {
	w, _ := render.New("table", out)
	w.Header([]string{"id", "name", "org", "role", "created", "revoked"})
	for _, t := range ts {
		w.Row([]any{t.ID, t.Name, t.Org, string(t.Role), t.Created, t.Revoked})
	}
	return w.Close()
}
