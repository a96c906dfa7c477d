import type { AgentDdl, InputItem } from '../types.js';

// Shell completion for the command line, from the DDLs: agents, actions, input names (with
// `=`), the values of list and boolean inputs; and, where an input names something on this
// host, the names themselves from `hvagent __complete SOURCE` (src/adapter/cli-complete.ts),
// which runs only when that input's value is being completed.

/** Inputs whose values are names on this host, by their prompt, and where the names come from. */
export const NAME_SOURCES: Readonly<Record<string, string>> = {
  'VM name': 'vms',
  Template: 'templates',
  Pool: 'pools',
  'Storage pool': 'pools',
  Network: 'networks',
  Networks: 'networks',
};

/** The command line's own words, besides the agents (src/adapter/cli.ts, cli-help.ts). */
const COMMANDS: ReadonlyArray<[string, string]> = [
  ['help', 'Agents and actions of this host'],
  ['rpc', 'JSON request(s) on stdin, reply(ies) on stdout'],
  ['install', 'Install the plugin tree for choria or mcollective'],
];
const OPTIONS = ['--output', '--json', '--progress', '--help', '--version'];
const OUTPUT_FORMATS = ['table', 'json', 'yaml'];
const HEADER = 'Generated from ddl/*.yaml by hvagent. Do not edit: change the YAML and run npm run generate.';

interface Model {
  agents: Array<{ name: string; description: string; actions: Array<{ name: string; description: string }> }>;
  /** "agent.action" → its inputs */
  inputs: Array<{ key: string; inputs: Array<{ name: string; description: string; values?: string[]; source?: string }> }>;
}

function modelOf(ddls: readonly AgentDdl[]): Model {
  return {
    agents: ddls.map((ddl) => ({
      name: ddl.metadata.name,
      description: ddl.metadata.description,
      actions: ddl.actions.map((action) => ({ name: action.action, description: action.description })),
    })),
    inputs: ddls.flatMap((ddl) =>
      ddl.actions.map((action) => ({
        key: `${ddl.metadata.name}.${action.action}`,
        inputs: Object.entries(action.input).map(([name, input]) => ({
          name,
          description: input.description,
          ...valuesOf(input),
          ...(NAME_SOURCES[input.prompt] !== undefined && { source: NAME_SOURCES[input.prompt] }),
        })),
      })),
    ),
  };
}

function valuesOf(input: InputItem): { values?: string[] } {
  if (input.type === 'list') return { values: input.list ?? [] };
  if (input.type === 'boolean') return { values: ['true', 'false'] };
  return {};
}

/** Single-quoted for bash and zsh: every character literal. */
const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
/** zsh's $'…': one entry a line, a colon separating name and description (_describe). */
const lines = (entries: ReadonlyArray<[string, string]>) =>
  `$'${entries.map(([name, description]) => `${name}:${description.replace(/\s+/g, ' ')}`).join('\n').replaceAll('\\', '\\\\').replaceAll("'", "\\'").replaceAll('\n', '\\n')}'`;

export function bashCompletion(ddls: readonly AgentDdl[]): string {
  const model = modelOf(ddls);
  const actions = model.agents.map((agent) => `    [${agent.name}]=${quoted(agent.actions.map((action) => action.name).join(' '))}`);
  const inputs = model.inputs.map(({ key, inputs }) => `    [${key}]=${quoted(inputs.map((input) => input.name).join(' '))}`);
  const values = model.inputs.flatMap(({ key, inputs }) => inputs.filter((input) => input.values).map((input) => `    [${key}.${input.name}]=${quoted(input.values!.join(' '))}`));
  const sources = model.inputs.flatMap(({ key, inputs }) => inputs.filter((input) => input.source).map((input) => `    [${key}.${input.name}]=${input.source}`));
  return `# bash completion for hvagent. ${HEADER}
# Installed as /usr/share/bash-completion/completions/hvagent; or: source completion/hvagent.bash
_hvagent() {
  local -A actions=(
${actions.join('\n')}
  )
  local -A inputs=(
${inputs.join('\n')}
  )
  local -A values=(
${values.join('\n')}
  )
  local -A sources=(
${sources.join('\n')}
  )
  # The words up to the cursor, split on blanks only: bash's own split also breaks at '='.
  local line=\${COMP_LINE:0:COMP_POINT} cur='' word skip=0
  local -a words positional
  read -ra words <<<"$line"
  if [[ $line != *[[:space:]] && \${#words[@]} -gt 0 ]]; then
    cur=\${words[-1]}
    unset 'words[-1]'
  fi
  for word in "\${words[@]:1}"; do
    if ((skip)); then skip=0; continue; fi
    case $word in
      --output | -o) skip=1 ;;
      -*) ;;
      *) positional+=("$word") ;;
    esac
  done
  if ((skip)); then
    mapfile -t COMPREPLY < <(compgen -W ${quoted(OUTPUT_FORMATS.join(' '))} -- "$cur")
    return
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W ${quoted(OPTIONS.join(' '))} -- "$cur")
    return
  fi
  case \${#positional[@]} in
    0)
      mapfile -t COMPREPLY < <(compgen -W "\${!actions[*]} ${COMMANDS.map(([name]) => name).join(' ')}" -- "$cur")
      return
      ;;
    1)
      case \${positional[0]} in
        install) mapfile -t COMPREPLY < <(compgen -W 'choria mcollective' -- "$cur") ;;
        *) [[ -v "actions[\${positional[0]}]" ]] && mapfile -t COMPREPLY < <(compgen -W "\${actions[\${positional[0]}]}" -- "$cur") ;;
      esac
      return
      ;;
  esac
  local key=\${positional[0]}.\${positional[1]}
  [[ -v "inputs[$key]" ]] || return
  if [[ $cur == *=* ]]; then
    local name=\${cur%%=*} candidates=''
    if [[ -v "sources[$key.$name]" ]]; then
      candidates=$("\${COMP_WORDS[0]}" __complete "\${sources[$key.$name]}" 2>/dev/null)
    elif [[ -v "values[$key.$name]" ]]; then
      candidates=\${values[$key.$name]}
    fi
    mapfile -t COMPREPLY < <(compgen -W "$candidates" -- "\${cur#*=}")
    # bash replaces only the text after the last COMP_WORDBREAKS character, '=' by default.
    [[ $COMP_WORDBREAKS == *=* ]] || COMPREPLY=("\${COMPREPLY[@]/#/$name=}")
  else
    local given=" \${positional[*]:2} " input
    local -a unused=()
    for input in \${inputs[$key]}; do
      [[ $given == *" $input="* ]] || unused+=("$input=")
    done
    mapfile -t COMPREPLY < <(compgen -W "\${unused[*]}" -- "$cur")
    compopt -o nospace 2>/dev/null
  fi
}
complete -F _hvagent hvagent
`;
}

export function zshCompletion(ddls: readonly AgentDdl[]): string {
  const model = modelOf(ddls);
  const agents = lines([...model.agents.map((agent): [string, string] => [agent.name, agent.description]), ...COMMANDS]);
  const actions = model.agents.map((agent) => `    ${agent.name} ${lines(agent.actions.map((action) => [action.name, action.description]))}`);
  const inputs = model.inputs.map(({ key, inputs }) => `    ${key} ${inputs.length ? lines(inputs.map((input) => [input.name, input.description])) : "''"}`);
  const values = model.inputs.flatMap(({ key, inputs }) => inputs.filter((input) => input.values).map((input) => `    ${key}.${input.name} ${quoted(input.values!.join(' '))}`));
  const sources = model.inputs.flatMap(({ key, inputs }) => inputs.filter((input) => input.source).map((input) => `    ${key}.${input.name} ${input.source}`));
  return `#compdef hvagent
# zsh completion for hvagent. ${HEADER}
# Installed as /usr/share/zsh/vendor-completions/_hvagent; or: fpath=(completion $fpath)
_hvagent() {
  local -A actions inputs values sources
  actions=(
${actions.join('\n')}
  )
  inputs=(
${inputs.join('\n')}
  )
  values=(
${values.join('\n')}
  )
  sources=(
${sources.join('\n')}
  )
  local cur=\${words[CURRENT]} word skip=0 i
  local -a positional
  for (( i = 2; i < CURRENT; i++ )); do
    word=\${words[i]}
    if (( skip )); then skip=0; continue; fi
    case $word in
      --output|-o) skip=1 ;;
      -*) ;;
      *) positional+=("$word") ;;
    esac
  done
  if (( skip )); then compadd -- ${OUTPUT_FORMATS.join(' ')}; return; fi
  if [[ $cur == -* ]]; then compadd -- ${OPTIONS.join(' ')}; return; fi
  if (( \${#positional} == 0 )); then
    local listed=${agents}
    local -a agents=( \${(f)listed} )
    _describe -t agents 'hvagent agent' agents
    return
  fi
  if (( \${#positional} == 1 )); then
    if [[ \${positional[1]} == install ]]; then compadd -- choria mcollective; return; fi
    (( \${+actions[\${positional[1]}]} )) || return 1
    local -a described=( \${(f)actions[\${positional[1]}]} )
    _describe -t actions 'action' described
    return
  fi
  local key=\${positional[1]}.\${positional[2]}
  (( \${+inputs[$key]} )) || return 1
  if [[ $cur == *=* ]]; then
    local name=\${cur%%=*}
    local -a candidates
    compset -P '*='
    if (( \${+sources[$key.$name]} )); then
      candidates=( \${(f)"$(\${words[1]} __complete \${sources[$key.$name]} 2>/dev/null)"} )
    elif (( \${+values[$key.$name]} )); then
      candidates=( \${=values[$key.$name]} )
    fi
    compadd -a candidates
  else
    local entry
    local -a unused
    for entry in \${(f)inputs[$key]}; do
      [[ " \${positional[*]} " == *" \${entry%%:*}="* ]] || unused+=("$entry")
    done
    _describe -t inputs 'input' unused -S '='
  fi
}
_hvagent "$@"
`;
}
