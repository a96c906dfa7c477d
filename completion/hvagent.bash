# bash completion for hvagent. Generated from ddl/*.yaml by hvagent. Do not edit: change the YAML and run npm run generate.
# Installed as /usr/share/bash-completion/completions/hvagent; or: source completion/hvagent.bash
_hvagent() {
  local -A actions=(
    [firewall]='list define delete nic_set'
    [host]='info agent_info usage capacity'
    [job]='list status wait cancel'
    [network]='list nic_list nic_attach nic_detach create delete start stop autostart lease_list lease_set lease_remove'
    [pool]='list create delete'
    [template]='list info import delete prune'
    [vm]='list info console_log console locate statistics create modify start shutdown poweroff reboot suspend resume delete snapshot_create snapshot_list snapshot_revert snapshot_delete migrate'
    [volume]='list info create resize delete'
  )
  local -A inputs=(
    [firewall.list]=''
    [firewall.define]='name rules async'
    [firewall.delete]='name async'
    [firewall.nic_set]='name mac filter allow rule_sets async'
    [host.info]=''
    [host.agent_info]=''
    [host.usage]='cpu_window_ms'
    [host.capacity]='memory_mb vcpus start'
    [job.list]='state target'
    [job.status]='id'
    [job.wait]='id timeout'
    [job.cancel]='id'
    [network.list]='kind'
    [network.nic_list]='name'
    [network.nic_attach]='name network bridge mac model filter allow rule_sets async'
    [network.nic_detach]='name mac async'
    [network.create]='name mode subnet dhcp dhcp_range bridge domain dns_hosts autostart start async'
    [network.delete]='name force async'
    [network.start]='name async'
    [network.stop]='name force async'
    [network.autostart]='name enabled async'
    [network.lease_list]='network'
    [network.lease_set]='network mac ip hostname async'
    [network.lease_remove]='network mac async'
    [pool.list]=''
    [pool.create]='name plugin path volume_group max_volume_mb max_total_mb async'
    [pool.delete]='name async'
    [template.list]='type'
    [template.info]='ref'
    [template.import]='ref source sha256 format description os replace async'
    [template.delete]='ref async'
    [template.prune]='async'
    [vm.list]='state driver details'
    [vm.info]='name'
    [vm.console_log]='name lines'
    [vm.console]='name'
    [vm.locate]='name'
    [vm.statistics]='name state driver'
    [vm.create]='name vm_class memory_mb vcpus max_vcpus max_memory_mb autostart start kernel initrd cmdline disk disk_format rootfs network template pool disk_size_mb data_disks ipv4 dns hostname ssh_authorized_keys user_data ssh_host_keys filter allow rule_sets async'
    [vm.modify]='name memory_mb vcpus autostart eject_cdrom async'
    [vm.start]='name async'
    [vm.shutdown]='name timeout force async'
    [vm.poweroff]='name async'
    [vm.reboot]='name async'
    [vm.suspend]='name async'
    [vm.resume]='name async'
    [vm.delete]='name force remove_volumes async'
    [vm.snapshot_create]='name snapshot description async'
    [vm.snapshot_list]='name'
    [vm.snapshot_revert]='name snapshot async'
    [vm.snapshot_delete]='name snapshot async'
    [vm.migrate]='name destination live copy_storage persistent bandwidth_mib async'
    [volume.list]='pool'
    [volume.info]='pool name'
    [volume.create]='pool name size_mb backing source image_format async'
    [volume.resize]='pool name size_mb shrink async'
    [volume.delete]='pool name force async'
  )
  local -A values=(
    [firewall.define.async]='true false'
    [firewall.delete.async]='true false'
    [firewall.nic_set.async]='true false'
    [host.capacity.start]='true false'
    [job.list.state]='any running succeeded failed cancelled lost'
    [network.list.kind]='any libvirt bridge'
    [network.nic_attach.model]='virtio e1000e e1000 rtl8139'
    [network.nic_attach.async]='true false'
    [network.nic_detach.async]='true false'
    [network.create.mode]='nat route isolated bridge'
    [network.create.dhcp]='true false'
    [network.create.autostart]='true false'
    [network.create.start]='true false'
    [network.create.async]='true false'
    [network.delete.force]='true false'
    [network.delete.async]='true false'
    [network.start.async]='true false'
    [network.stop.force]='true false'
    [network.stop.async]='true false'
    [network.autostart.enabled]='true false'
    [network.autostart.async]='true false'
    [network.lease_set.async]='true false'
    [network.lease_remove.async]='true false'
    [pool.create.plugin]='dir raw qcow2 lvm'
    [pool.create.async]='true false'
    [pool.delete.async]='true false'
    [template.list.type]='any image iso lxc tar pxe'
    [template.import.format]='auto qcow2 raw'
    [template.import.replace]='true false'
    [template.import.async]='true false'
    [template.delete.async]='true false'
    [template.prune.async]='true false'
    [vm.list.state]='any running paused shutoff other'
    [vm.list.driver]='any qemu lxc'
    [vm.list.details]='true false'
    [vm.statistics.state]='any running paused shutoff other'
    [vm.statistics.driver]='any qemu lxc'
    [vm.create.vm_class]='qemu kvm lxc'
    [vm.create.autostart]='true false'
    [vm.create.start]='true false'
    [vm.create.disk_format]='raw qcow2'
    [vm.create.async]='true false'
    [vm.modify.autostart]='true false'
    [vm.modify.eject_cdrom]='true false'
    [vm.modify.async]='true false'
    [vm.start.async]='true false'
    [vm.shutdown.force]='true false'
    [vm.shutdown.async]='true false'
    [vm.poweroff.async]='true false'
    [vm.reboot.async]='true false'
    [vm.suspend.async]='true false'
    [vm.resume.async]='true false'
    [vm.delete.force]='true false'
    [vm.delete.remove_volumes]='true false'
    [vm.delete.async]='true false'
    [vm.snapshot_create.async]='true false'
    [vm.snapshot_revert.async]='true false'
    [vm.snapshot_delete.async]='true false'
    [vm.migrate.live]='true false'
    [vm.migrate.copy_storage]='true false'
    [vm.migrate.persistent]='true false'
    [vm.migrate.async]='true false'
    [volume.create.image_format]='raw qcow2'
    [volume.create.async]='true false'
    [volume.resize.shrink]='true false'
    [volume.resize.async]='true false'
    [volume.delete.force]='true false'
    [volume.delete.async]='true false'
  )
  local -A sources=(
    [firewall.nic_set.name]=vms
    [network.nic_list.name]=vms
    [network.nic_attach.name]=vms
    [network.nic_attach.network]=networks
    [network.nic_detach.name]=vms
    [network.lease_list.network]=networks
    [network.lease_set.network]=networks
    [network.lease_remove.network]=networks
    [pool.create.name]=pools
    [pool.delete.name]=pools
    [template.info.ref]=templates
    [template.import.ref]=templates
    [template.delete.ref]=templates
    [vm.info.name]=vms
    [vm.console_log.name]=vms
    [vm.console.name]=vms
    [vm.locate.name]=vms
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
      mapfile -t COMPREPLY < <(compgen -W "${!actions[*]} help rpc install serve" -- "$cur")
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
