# bash completion for plock(1)                              -*- shell-script -*-
#
# Subcommands and options are read from the --help of the plock being
# completed, so the completion always matches that binary. Values: METHOD
# (flock, ofd), DIR (directories), file names for files; after "--", a command
# and its arguments. Uses bash-completion's helpers when they are loaded and
# plain compgen otherwise.

# The subcommand names listed by `plock --help`.
_plock_subcommands()
{
    local line listing=
    while IFS= read -r line; do
        if [[ $line == Subcommands: ]]; then
            listing=1
        elif [[ $listing ]]; then
            [[ $line =~ ^\ \ ([a-z][a-z-]*)\  ]] || break
            printf '%s\n' "${BASH_REMATCH[1]}"
        fi
    done < <("$1" --help 2>/dev/null)
}

# "OPTION PLACEHOLDER" lines for each spelling of each option of a
# subcommand; PLACEHOLDER is "-" for a flag.
_plock_options()
{
    local line short long value
    while IFS= read -r line; do
        [[ $line =~ ^\ \ (-[A-Za-z0-9],)?(--[a-z][a-z-]*)(\ ([A-Z][A-Z_]*)(\ |$))? ]] || continue
        short=${BASH_REMATCH[1]%,}
        long=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[4]:--}
        [[ $short ]] && printf '%s %s\n' "$short" "$value"
        printf '%s %s\n' "$long" "$value"
    done < <("$1" "$2" --help 2>/dev/null)
}

_plock_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
    elif [[ ${1-} == -d ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

_plock()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi
    COMPREPLY=()

    local plock=${words[0]} subcommand= index
    for ((index = 1; index < cword; index++)); do
        if [[ ${words[index]} == -- ]]; then
            # After "--": the command and its arguments.
            if declare -F _command_offset >/dev/null; then
                _command_offset $((index + 1))
            elif ((cword == index + 1)); then
                mapfile -t COMPREPLY < <(compgen -c -- "$cur")
            else
                _plock_files
            fi
            return
        fi
        if [[ -z $subcommand && ${words[index]} != -* ]]; then
            subcommand=${words[index]}
        fi
    done

    if [[ -z $subcommand ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_plock_subcommands "$plock") --help --version" -- "$cur")
        return
    fi

    local option placeholder spellings=()
    while read -r option placeholder; do
        spellings+=("$option")
        if [[ $prev == "$option" && $placeholder != - ]]; then
            case $placeholder in
                METHOD) mapfile -t COMPREPLY < <(compgen -W "flock ofd" -- "$cur") ;;
                DIR) _plock_files -d ;;
                *FILE | PATH) _plock_files ;;
                *) ;;  # a number or a string: nothing to offer
            esac
            return
        fi
    done < <(_plock_options "$plock" "$subcommand")

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${spellings[*]}" -- "$cur")
    else
        _plock_files
    fi
}
complete -F _plock plock
