# bash completion for hvagent. Generated from ddl/*.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
# Installed as /usr/share/bash-completion/completions/hvagent; or: source completion/hvagent.bash
_hvagent() {
  local -A actions=(
    [host]='info agent_info usage'
    [network]='list nic_list nic_attach nic_detach'
    [template]='list info'
    [vm]='list info statistics create modify start shutdown poweroff reboot suspend resume delete snapshot_create snapshot_list snapshot_revert snapshot_delete migrate'
    [volume]='list info create resize delete'
  )
  local -A inputs=(
    [host.info]=''
    [host.agent_info]=''
    [host.usage]='cpu_window_ms'
    [network.list]='kind'
    [network.nic_list]='name'
    [network.nic_attach]='name network bridge mac model'
    [network.nic_detach]='name mac'
    [template.list]='type'
    [template.info]='ref'
    [vm.list]='state driver details'
    [vm.info]='name'
    [vm.statistics]='name state driver'
    [vm.create]='name vm_class memory_mb vcpus max_vcpus max_memory_mb autostart start kernel initrd cmdline disk disk_format rootfs network template pool disk_size_mb data_disks'
    [vm.modify]='name memory_mb vcpus autostart'
    [vm.start]='name'
    [vm.shutdown]='name timeout force'
    [vm.poweroff]='name'
    [vm.reboot]='name'
    [vm.suspend]='name'
    [vm.resume]='name'
    [vm.delete]='name force remove_volumes'
    [vm.snapshot_create]='name snapshot description'
    [vm.snapshot_list]='name'
    [vm.snapshot_revert]='name snapshot'
    [vm.snapshot_delete]='name snapshot'
    [vm.migrate]='name destination live copy_storage persistent bandwidth_mib'
    [volume.list]='pool'
    [volume.info]='pool name'
    [volume.create]='pool name size_mb backing source image_format'
    [volume.resize]='pool name size_mb shrink'
    [volume.delete]='pool name force'
  )
  local -A values=(
    [network.list.kind]='any libvirt bridge'
    [network.nic_attach.model]='virtio e1000e e1000 rtl8139'
    [template.list.type]='any image lxc tar pxe'
    [vm.list.state]='any running paused shutoff other'
    [vm.list.driver]='any qemu lxc'
    [vm.list.details]='true false'
    [vm.statistics.state]='any running paused shutoff other'
    [vm.statistics.driver]='any qemu lxc'
    [vm.create.vm_class]='qemu kvm lxc'
    [vm.create.autostart]='true false'
    [vm.create.start]='true false'
    [vm.create.disk_format]='raw qcow2'
    [vm.modify.autostart]='true false'
    [vm.shutdown.force]='true false'
    [vm.delete.force]='true false'
    [vm.delete.remove_volumes]='true false'
    [vm.migrate.live]='true false'
    [vm.migrate.copy_storage]='true false'
    [vm.migrate.persistent]='true false'
    [volume.create.image_format]='raw qcow2'
    [volume.resize.shrink]='true false'
    [volume.delete.force]='true false'
  )
  local -A sources=(
    [network.nic_list.name]=vms
    [network.nic_attach.name]=vms
    [network.nic_attach.network]=networks
    [network.nic_detach.name]=vms
    [template.info.ref]=templates
    [vm.info.name]=vms
    [vm.statistics.name]=vms
    [vm.create.name]=vms
    [vm.create.network]=networks
    [vm.create.template]=templates
    [vm.create.pool]=pools
    [vm.modify.name]=vms
    [vm.start.name]=vms
    [vm.shutdown.name]=vms
    [vm.poweroff.name]=vms
    [vm.reboot.name]=vms
    [vm.suspend.name]=vms
    [vm.resume.name]=vms
    [vm.delete.name]=vms
    [vm.snapshot_create.name]=vms
    [vm.snapshot_list.name]=vms
    [vm.snapshot_revert.name]=vms
    [vm.snapshot_delete.name]=vms
    [vm.migrate.name]=vms
    [volume.list.pool]=pools
    [volume.info.pool]=pools
    [volume.create.pool]=pools
    [volume.resize.pool]=pools
    [volume.delete.pool]=pools
  )
  # The words up to the cursor, split on blanks only: bash's own split also breaks at '='.
  local line=${COMP_LINE:0:COMP_POINT} cur='' word skip=0
  local -a words positional
  read -ra words <<<"$line"
  if [[ $line != *[[:space:]] && ${#words[@]} -gt 0 ]]; then
    cur=${words[-1]}
    unset 'words[-1]'
  fi
  for word in "${words[@]:1}"; do
    if ((skip)); then skip=0; continue; fi
    case $word in
      --output | -o) skip=1 ;;
      -*) ;;
      *) positional+=("$word") ;;
    esac
  done
  if ((skip)); then
    mapfile -t COMPREPLY < <(compgen -W 'table json yaml' -- "$cur")
    return
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W '--output --json --progress --help --version' -- "$cur")
    return
  fi
  case ${#positional[@]} in
    0)
      mapfile -t COMPREPLY < <(compgen -W "${!actions[*]} help rpc install" -- "$cur")
      return
      ;;
    1)
      case ${positional[0]} in
        install) mapfile -t COMPREPLY < <(compgen -W 'choria mcollective' -- "$cur") ;;
        *) [[ -v "actions[${positional[0]}]" ]] && mapfile -t COMPREPLY < <(compgen -W "${actions[${positional[0]}]}" -- "$cur") ;;
      esac
      return
      ;;
  esac
  local key=${positional[0]}.${positional[1]}
  [[ -v "inputs[$key]" ]] || return
  if [[ $cur == *=* ]]; then
    local name=${cur%%=*} candidates=''
    if [[ -v "sources[$key.$name]" ]]; then
      candidates=$("${COMP_WORDS[0]}" __complete "${sources[$key.$name]}" 2>/dev/null)
    elif [[ -v "values[$key.$name]" ]]; then
      candidates=${values[$key.$name]}
    fi
    mapfile -t COMPREPLY < <(compgen -W "$candidates" -- "${cur#*=}")
    # bash replaces only the text after the last COMP_WORDBREAKS character, '=' by default.
    [[ $COMP_WORDBREAKS == *=* ]] || COMPREPLY=("${COMPREPLY[@]/#/$name=}")
  else
    local given=" ${positional[*]:2} " input
    local -a unused=()
    for input in ${inputs[$key]}; do
      [[ $given == *" $input="* ]] || unused+=("$input=")
    done
    mapfile -t COMPREPLY < <(compgen -W "${unused[*]}" -- "$cur")
    compopt -o nospace 2>/dev/null
  fi
}
complete -F _hvagent hvagent
