// The shape of /etc/hvagent/hvagent.yaml. Compiled ahead of time with the DDL validators.

export const LIBVIRT_URI_PATTERN =
  '^(qemu|lxc|test)(\\+(unix|tcp|tls|ssh))?://[A-Za-z0-9.:\\[\\]-]*/[A-Za-z0-9_./-]*(\\?[A-Za-z0-9_=/.&%:-]*)?$';

const absolutePath = { type: 'string', maxLength: 4096, pattern: '^/[A-Za-z0-9._+/-]*$' };
const glob = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.=@*:-]+$' };

export const configSchema = {
  $id: 'hv:config',
  type: 'object',
  additionalProperties: false,
  properties: {
    libvirt: {
      type: 'object',
      additionalProperties: false,
      properties: {
        uri: { type: 'string', maxLength: 1024, pattern: LIBVIRT_URI_PATTERN },
        lxc_uri: { type: 'string', maxLength: 1024, pattern: LIBVIRT_URI_PATTERN },
      },
    },
    authorization: {
      type: 'object',
      additionalProperties: false,
      properties: {
        read_only: { type: 'boolean' },
        rules: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['allow'],
            properties: { caller: glob, agent: glob, action: glob, allow: { type: 'boolean' } },
          },
        },
      },
    },
    paths: {
      type: 'object',
      additionalProperties: false,
      properties: {
        images: { type: 'array', maxItems: 64, items: absolutePath },
        lock_dir: absolutePath,
        console_log_dir: absolutePath,
      },
    },
    agents: {
      type: 'object',
      additionalProperties: false,
      properties: {
        disabled: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
      },
    },
  },
} as const;

export interface AuthorizationRule {
  caller?: string;
  agent?: string;
  action?: string;
  allow: boolean;
}

export interface HvConfig {
  libvirt: { uri: string; lxc_uri: string };
  authorization: { read_only: boolean; rules: AuthorizationRule[] };
  agents: { disabled: string[] };
  paths: {
    /** Directories whose files and subdirectories requests may name (kernels, disks, root directories). */
    images: string[];
    /** Per-VM and per-volume locks (tmpfs: emptied at boot). */
    lock_dir: string;
    /** Serial console logs of QEMU guests. */
    console_log_dir: string;
  };
  /** Where the values came from, for error messages and `host info`. */
  source: { file: string | null; uri_from: 'default' | 'file' | 'HVAGENT_URI' | 'choria plugin config' };
}
