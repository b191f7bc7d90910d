// Shell completion scripts. Each asks the plugin itself for candidates through
// yargs' --get-yargs-completions, so they never go stale as commands change.
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

const BIN = 'kubectl-datamover';

const SCRIPTS: Record<Shell, string> = {
  bash: `# bash completion for ${BIN}; source it from ~/.bashrc:  source <(${BIN} completion bash)
_kubectl_datamover_complete() {
  local IFS=$'\\n'
  local words
  words=$(${BIN} --get-yargs-completions "\${COMP_WORDS[@]:0:COMP_CWORD+1}" 2>/dev/null)
  COMPREPLY=($(compgen -W "$words" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _kubectl_datamover_complete ${BIN}
`,
  zsh: `#compdef ${BIN}
# zsh completion for ${BIN}; add to ~/.zshrc:  source <(${BIN} completion zsh)
_kubectl_datamover_complete() {
  local -a candidates
  candidates=("\${(@f)$(${BIN} --get-yargs-completions "\${words[@]:0:CURRENT}" 2>/dev/null)}")
  _describe 'values' candidates
}
compdef _kubectl_datamover_complete ${BIN}
`,
  fish: `# fish completion for ${BIN}; save as ~/.config/fish/completions/${BIN}.fish
function __kubectl_datamover_complete
  ${BIN} --get-yargs-completions (commandline -opc) (commandline -ct) 2>/dev/null | string replace -r ':.*' ''
end
complete -c ${BIN} -f -a '(__kubectl_datamover_complete)'
`,
};

export function completionScript(shell: Shell): string {
  return SCRIPTS[shell];
}
