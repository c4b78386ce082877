package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Completion scripts. Bash and zsh ask hive itself for the words that may
// follow (`hive ... --generate-bash-completion`, urfave/cli's protocol), so
// they stay true as commands and flags change; fish gets a static script.
const bashCompletion = `# hive completion for bash: eval "$(hive completion bash)"
_hive_complete() {
  local cur words
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == -* ]]; then
    words=$("${COMP_WORDS[@]:0:$COMP_CWORD}" "$cur" --generate-bash-completion 2>/dev/null)
  else
    words=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _hive_complete hive
`

const zshCompletion = `#compdef hive
# hive completion for zsh: eval "$(hive completion zsh)"
_hive() {
  local -a words_
  local cur=${words[CURRENT]}
  if [[ "$cur" == -* ]]; then
    words_=(${(f)"$(${words[@]:0:CURRENT-1} $cur --generate-bash-completion 2>/dev/null)"})
  else
    words_=(${(f)"$(${words[@]:0:CURRENT-1} --generate-bash-completion 2>/dev/null)"})
  fi
  if [[ ${#words_} -gt 0 ]]; then
    compadd -a words_
  else
    _files
  fi
}
if (( $+functions[compdef] )); then compdef _hive hive; fi
`

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: eval \"$(hive completion bash)\" (or zsh, fish)",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion takes one shell: bash, zsh or fish")
			}
			switch sh := c.Args().First(); sh {
			case "bash":
				fmt.Fprint(c.App.Writer, bashCompletion)
			case "zsh":
				fmt.Fprint(c.App.Writer, zshCompletion)
			case "fish":
				script, err := c.App.ToFishCompletion()
				if err != nil {
					return err
				}
				fmt.Fprint(c.App.Writer, script)
			default:
				return usagef("completion: no shell %q; choose bash, zsh or fish", sh)
			}
			return nil
		},
	}
}

// helpCommand shows the commands, or the help of one command, as `hive
// COMMAND [SUBCOMMAND] --help` does (urfave/cli's own help command shows
// a command that has subcommands without them).
func helpCommand() *cli.Command {
	return &cli.Command{
		Name:      "help",
		Aliases:   []string{"h"},
		Usage:     "show the commands, or one command's help",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return cli.ShowAppHelp(c)
			}
			return c.App.Run(append(append([]string{c.App.Name}, c.Args().Slice()...), "--help"))
		},
	}
}
