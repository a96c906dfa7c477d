// hvagent's own facts about a VM live in the domain XML, in <metadata> under this
// namespace, so that libvirt stays the only place where a VM's truth is kept (no database).

export const HV_NAMESPACE = 'https://hvagent.dev/xmlns/domain/1';

export interface HvMetadata {
  vm_class: string;
  created_at: string;
  created_by?: string;
  request_id?: string;
  /** `type:name` of the template it was provisioned from. */
  template?: string;
  /** cloud-init's instance-id in its NoCloud seed: new for each provision. */
  instance_id?: string;
  /** Public halves of the SSH host keys made for it on the host (`TYPE BASE64`, comma-separated): known_hosts lines can be rebuilt from `vm info`. */
  ssh_host_keys?: string;
  /** Volumes provisioned for it, `pool/volume` separated by commas: `vm delete remove_volumes=true` removes these. */
  volumes?: string;
  /** DHCP reservations made for its NICs, `network=mac` separated by commas: `vm delete` removes these. */
  leases?: string;
}
