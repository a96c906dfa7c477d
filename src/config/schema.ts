// The shape of /etc/hvagent/hvagent.yaml. Compiled ahead of time with the DDL validators.

export const LIBVIRT_URI_PATTERN =
  '^(qemu|lxc|test)(\\+(unix|tcp|tls|ssh))?://[A-Za-z0-9.:\\[\\]-]*/[A-Za-z0-9_./-]*(\\?[A-Za-z0-9_=/.&%:-]*)?$';

const absolutePath = { type: 'string', maxLength: 4096, pattern: '^/[A-Za-z0-9._+/-]*$' };
const name = { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' };
const mebibytes = { type: 'integer', minimum: 1, maximum: 1099511627776 };
const glob = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.=@*:-]+$' };
const pool = {
  type: 'object',
  additionalProperties: false,
  required: ['plugin'],
  properties: {
    plugin: { enum: ['dir', 'raw', 'qcow2', 'lvm'] },
    path: absolutePath,
    volume_group: { type: 'string', pattern: '^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,127}$' },
    max_volume_mb: mebibytes,
    max_total_mb: mebibytes,
    shared: { type: 'boolean' },
  },
} as const;

/** One pool the API made: a drop-in file `pools.d/<name>.yaml` beside hvagent.yaml (src/storage/pool-admin.ts). */
export const poolFileSchema = { $id: 'hv:pool', ...pool } as const;

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
        default_deny: { type: 'boolean' },
        policy_dir: absolutePath,
        middleware_uids: { type: 'array', maxItems: 16, items: { type: 'integer', minimum: 0, maximum: 4294967295 } },
        facts_file: absolutePath,
        classes_file: absolutePath,
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        file: absolutePath,
        syslog: { type: 'boolean' },
        syslog_socket: absolutePath,
      },
    },
    idempotency: {
      type: 'object',
      additionalProperties: false,
      properties: {
        window_seconds: { type: 'integer', minimum: 0, maximum: 604800 },
        max_entries: { type: 'integer', minimum: 1, maximum: 1000000 },
      },
    },
    paths: {
      type: 'object',
      additionalProperties: false,
      properties: {
        images: { type: 'array', maxItems: 64, items: absolutePath },
        lock_dir: absolutePath,
        console_log_dir: absolutePath,
        jobs_dir: absolutePath,
      },
    },
    storage: {
      type: 'object',
      additionalProperties: false,
      properties: {
        pools: { type: 'object', maxProperties: 64, propertyNames: name, additionalProperties: pool },
        shared_hosts: { type: 'array', maxItems: 32, items: { type: 'string', maxLength: 1024, pattern: LIBVIRT_URI_PATTERN } },
      },
    },
    firewall: {
      type: 'object',
      additionalProperties: false,
      // The libvirt network filter every NIC hvagent makes carries unless the request says otherwise; none for no filter.
      properties: { default_filter: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' } },
    },
    cloud_init: {
      type: 'object',
      additionalProperties: false,
      // The SSH host keys made on the host for a guest given cloud-init data ([] for none: the guest makes its own).
      properties: { ssh_host_keys: { type: 'array', maxItems: 3, uniqueItems: true, items: { enum: ['ed25519', 'ecdsa', 'rsa'] } } },
    },
    templates: {
      type: 'object',
      additionalProperties: false,
      properties: {
        catalogue: absolutePath,
        import_dirs: { type: 'array', maxItems: 64, items: absolutePath },
        max_import_mb: mebibytes,
        download_timeout_s: { type: 'integer', minimum: 1, maximum: 86400 },
        download_stall_s: { type: 'integer', minimum: 1, maximum: 3600 },
        import_flush: { enum: ['before_reply', 'before_use'] },
      },
    },
    admission: {
      type: 'object',
      additionalProperties: false,
      properties: {
        memory_overcommit_ratio: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
        vcpu_ratio: { type: 'number', exclusiveMinimum: 0, maximum: 1000 },
        max_vms: { type: 'integer', minimum: 0, maximum: 100000 },
        reserved_memory_mb: { type: 'integer', minimum: 0, maximum: 1099511627776 },
      },
    },
    agents: {
      type: 'object',
      additionalProperties: false,
      properties: {
        disabled: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' } },
      },
    },
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        listen: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 1, maxLength: 4101 } },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          properties: { cert: absolutePath, key: absolutePath, client_ca: absolutePath },
        },
        tokens: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['caller', 'sha256'],
            properties: {
              caller: { type: 'string', pattern: '^[A-Za-z0-9_.=@:-]{1,128}$' },
              sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
              expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2}))?$' },
            },
          },
        },
        max_body_bytes: { type: 'integer', minimum: 1024, maximum: 67108864 },
        max_concurrent_per_caller: { type: 'integer', minimum: 1, maximum: 100000 },
        headers_timeout_s: { type: 'integer', minimum: 1, maximum: 600 },
        request_timeout_s: { type: 'integer', minimum: 1, maximum: 3600 },
        shutdown_grace_s: { type: 'integer', minimum: 0, maximum: 86400 },
        max_event_backlog: { type: 'integer', minimum: 1, maximum: 100000 },
      },
    },
    operations: {
      type: 'object',
      additionalProperties: false,
      properties: {
        timeout_s: { type: 'integer', minimum: 10, maximum: 604800 },
        retention_s: { type: 'integer', minimum: 0, maximum: 31536000 },
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

/** A bearer token: only its SHA-256 is configured, never the token itself. */
export interface TokenConfig {
  caller: string;
  sha256: string;
  /** ISO 8601: refused from then on. */
  expires?: string;
}

export interface ServerConfig {
  /** Listen specs added to the command line's (`unix:PATH`, `HOST:PORT`). */
  listen: string[];
  /** TCP listeners always use TLS; client_ca verifies client certificates (their CN is the caller). */
  tls: { cert: string; key: string; client_ca?: string } | null;
  tokens: TokenConfig[];
  max_body_bytes: number;
  max_concurrent_per_caller: number;
  /** A client has this long to send its headers (slow clients are cut off). */
  headers_timeout_s: number;
  /** … and this long for its whole request. */
  request_timeout_s: number;
  /** SIGTERM: running operations get this long to finish, then are cancelled (and undone). */
  shutdown_grace_s: number;
  /** Events a reader of /v1/events may fall behind by before it is dropped. */
  max_event_backlog: number;
}

export const DEFAULT_SERVER: ServerConfig = {
  listen: [],
  tls: null,
  tokens: [],
  max_body_bytes: 1024 * 1024,
  max_concurrent_per_caller: 64,
  headers_timeout_s: 10,
  request_timeout_s: 30,
  shutdown_grace_s: 60,
  max_event_backlog: 1000,
};

export const DEFAULT_OPERATIONS: HvConfig['operations'] = { timeout_s: 6 * 3600, retention_s: 24 * 3600 };

export type StoragePluginType = 'dir' | 'raw' | 'qcow2' | 'lvm';

/** A named storage pool: where volumes of one plugin type are made, and how much. */
export interface PoolConfig {
  plugin: StoragePluginType;
  /** Directory of the volumes (dir, raw, qcow2). */
  path?: string;
  /** Volume group (lvm). */
  volume_group?: string;
  max_volume_mb?: number;
  max_total_mb?: number;
  /**
   * Mounted by other hosts too (NFS and the like; raw and qcow2 pools): its volume locks
   * live in the pool directory, and delete asks storage.shared_hosts which VMs use a volume.
   */
  shared?: boolean;
}

/**
 * Host limits that create, start and modify must stay within (src/vm/admission.ts,
 * docs/ADMISSION.md). Each is off when left out: admission then refuses nothing.
 */
export interface AdmissionConfig {
  /** Memory of running VMs ≤ (host memory − reserved) × this. Implied 1.0 when only reserved_memory_mb is set. */
  memory_overcommit_ratio?: number;
  /** vCPUs of running VMs ≤ host CPUs × this. */
  vcpu_ratio?: number;
  /** Defined VMs (both connections, any state) ≤ this. */
  max_vms?: number;
  /** Memory kept for the host itself, out of reach of VMs (MiB). */
  reserved_memory_mb?: number;
}

/** Who may call what (src/dispatch/authorize.ts, docs/AUTHORIZATION.md). */
export interface AuthorizationConfig {
  read_only: boolean;
  rules: AuthorizationRule[];
  /** Refuse a request that neither a rule nor its agent's policy file allows. */
  default_deny?: boolean;
  /** MCollective actionpolicy files, one per agent: `<policy_dir>/<agent>.policy`. */
  policy_dir?: string;
  /** The uids MCollective's or Choria's server runs as: only there is the request file's caller trusted. */
  middleware_uids?: number[];
  /** Facts for policy rules (YAML or JSON); Choria's own facts file comes first. */
  facts_file?: string;
  /** Configuration-management classes for policy rules, one per line. */
  classes_file?: string;
}

/** One JSON line per request (src/dispatch/audit.ts, docs/AUDIT.md). */
export interface AuditConfig {
  enabled: boolean;
  file: string;
  /** Also send each line to syslog (facility authpriv) through logger(1). */
  syslog: boolean;
  /** The syslog daemon's socket, where it is not /dev/log (a journald or chrooted rsyslog socket). */
  syslog_socket?: string;
}

/** Replies kept so that a retried request id gets its first reply (src/dispatch/idempotency.ts). */
export interface IdempotencyConfig {
  /** How long a reply is kept and replayed; 0 turns replay off. */
  window_seconds: number;
  /** The most replies kept; the oldest go first. */
  max_entries: number;
}

export interface HvConfig {
  libvirt: { uri: string; lxc_uri: string };
  authorization: AuthorizationConfig;
  /** Absent in configurations built by hand (tests): the defaults of load.ts. */
  audit?: AuditConfig;
  /** Absent in configurations built by hand (tests): no replay. */
  idempotency?: IdempotencyConfig;
  agents: { disabled: string[] };
  paths: {
    /** Directories whose files and subdirectories requests may name (kernels, disks, root directories). */
    images: string[];
    /** Per-VM and per-volume locks (tmpfs: emptied at boot). */
    lock_dir: string;
    /** Serial console logs of QEMU guests. */
    console_log_dir: string;
    /** Progress of long operations, one file per request (tmpfs: emptied at boot). */
    jobs_dir: string;
  };
  storage: {
    /** Every pool: hvagent.yaml's (read-only to the API) and the API's drop-ins. */
    pools: Record<string, PoolConfig>;
    /** Where the API keeps the pools it makes (pools.d beside hvagent.yaml), and which of `pools` came from there. */
    dropins?: { directory: string; names: string[] };
    /** libvirt URIs (qemu) of the other hosts that mount the shared pools: asked before a shared volume is removed. */
    shared_hosts?: string[];
  };
  firewall?: {
    /** The network filter of every NIC hvagent makes (default clean-traffic); 'none' for none. */
    default_filter: string;
  };
  /** Absent in configurations built by hand (tests): no limits. */
  admission?: AdmissionConfig;
  /** Absent in configurations built by hand (tests): the defaults of load.ts. */
  cloud_init?: {
    /** Types of the SSH host keys made on the host for a guest given cloud-init data, unless the request says; [] for none. */
    ssh_host_keys: ('ed25519' | 'ecdsa' | 'rsa')[];
  };
  templates: {
    /** Directory holding the template manifest (catalogue.yaml) and the files it names. */
    catalogue: string;
    /** Directories whose files `template import` may read (a source given as a path). */
    import_dirs: string[];
    /** Largest image an import accepts, downloaded and as stored (MiB). */
    max_import_mb: number;
    /** Longest a download may take (the request's own deadline may end it sooner). */
    download_timeout_s: number;
    /** A download that receives nothing for this long is given up. */
    download_stall_s: number;
    /**
     * When an imported file is flushed to disk: before the import replies, or before its
     * first use (docs/RELIABILITY.md, "Imported templates: durable before first use").
     */
    import_flush: 'before_reply' | 'before_use';
  };
  server: ServerConfig;
  operations: {
    /** An operation (a request run detached) is given up after this long. */
    timeout_s: number;
    /** Finished operations (and job records) are kept this long. */
    retention_s: number;
  };
  /** Where the values came from, for error messages and `host info`. */
  source: { file: string | null; uri_from: 'default' | 'file' | 'HVAGENT_URI' | 'choria plugin config' };
}
