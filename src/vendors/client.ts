/**
 * The surface every vendor client offers, whatever the vendor: look one device up by its
 * stable key, look devices up by hostname, list the whole fleet page by page. Sync, collectors
 * and (later) variance checks speak to vendors only through it, so a further vendor is a new
 * `vendors/<name>/` folder implementing this interface.
 */
import type { CallOptions } from './http.js';

/** How a hostname lookup matched, strongest first. */
export type HostnameMatch = 'hostname' | 'canonical_hostname';

export interface HostnameLookup<Raw> {
  /** Every device whose hostname matched, in the vendor's order; several when the name is reused. */
  readonly devices: readonly Raw[];
  readonly matchedBy: HostnameMatch | null;
}

export interface VendorClient<Raw, Key> {
  /** One device by the vendor's stable key; `null` when the vendor has no such device. */
  findById(key: Key, options?: CallOptions): Promise<Raw | null>;
  /** Devices whose hostname is `hostname` (short or FQDN, any case). */
  findByHostname(hostname: string, options?: CallOptions): Promise<HostnameLookup<Raw>>;
  /** The whole fleet, one page at a time. */
  list(pageSize?: number, options?: CallOptions): AsyncGenerator<Raw[], void, undefined>;
  /** Releases the client's connections. */
  close(): Promise<void>;
}
