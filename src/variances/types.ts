/**
 * The vocabulary of variances: where the tools disagree about a device.
 *
 * Rules are written over vendor roles, not vendor names: the RMM (NinjaOne) is the record of
 * what exists and should be protected; the security agent (ThreatLocker) is what protects it.
 * A vendor's specifics (its name keys, spare rule, node classes) live in its own folder
 * (`vendors/<vendor>/variance-rules.ts`), so a third tool is a new folder plus configuration,
 * not a rewrite of matching or reports.
 */
import type { VendorKey } from '../inventory/vendors.js';

/** What a vendor is to the judgement. */
export type VendorRole = 'rmm' | 'security';

export const VENDOR_ROLES: Readonly<Record<VendorKey, VendorRole>> = Object.freeze({ ninja: 'rmm', threatlocker: 'security' });

/** Every variance type; the names are the existing deployments' (upstream) where they exist. */
export const VARIANCE_TYPES = [
  'MISSING_NINJA',
  'MISSING_THREATLOCKER',
  'DUPLICATE_TL',
  'DUPLICATE_NINJA',
  'SPARE_MISMATCH',
  'DISPLAY_NAME_MISMATCH',
  'SITE_MISMATCH',
] as const;
export type VarianceType = (typeof VARIANCE_TYPES)[number];

/** How a security-agent computer was paired with an RMM device. */
export type MatchQuality = 'exact' | 'truncated' | 'cross_org';

/** A variance's state: one row for its whole life. */
export type VarianceStatus = 'open' | 'resolved' | 'accepted';

/** One device of one vendor on the checked day, as matching and the rules read it. */
export interface DayDevice {
  readonly vendor: VendorKey;
  /** device_identity.vendor_device_key: ThreatLocker computerId (lower-case), NinjaOne numeric id. */
  readonly deviceKey: string;
  readonly hostname: string;
  /** As stored (inventory/hostname.ts): cut at `|`, trimmed, cut at the first `.`, lower-case. */
  readonly canonicalHostname: string;
  readonly displayName: string | null;
  readonly organizationName: string | null;
  readonly organizationId: string | null;
  /** NinjaOne location (site); null for ThreatLocker. */
  readonly locationName: string | null;
  /** Last check-in (ThreatLocker) / last contact (NinjaOne), RFC 3339; null when never. */
  readonly lastContact: string | null;
  /** NinjaOne nodeClass, e.g. WINDOWS_WORKSTATION, VMWARE_VM_GUEST; null for ThreatLocker. */
  readonly nodeClass: string | null;
  readonly isVmGuest: boolean | null;
  /** NinjaOne NetBIOS name (≤ 15 characters). */
  readonly systemName: string | null;
  /** NinjaOne `spare` | `billable`; null for ThreatLocker. */
  readonly billableStatus: string | null;
}

/** A device as a variance names it (the API's `devices[]` item). */
export interface VarianceDeviceRef {
  readonly vendor: VendorKey;
  readonly device_key: string;
  readonly hostname: string;
  readonly display_name: string | null;
  readonly organization_name: string | null;
  readonly location_name: string | null;
}

/** A variance found by a check over one day (before the lifecycle store sees it). */
export interface FoundVariance {
  readonly type: VarianceType;
  /**
   * Stable across days for the same situation: the type plus the vendor keys it is about
   * (e.g. `MISSING_NINJA:threatlocker:<computerId>`), or for a duplicate group the type, the
   * organization and the canonical name. The lifecycle store keys its one row per variance by it.
   */
  readonly subjectKey: string;
  /** The name people search by (the canonical hostname of the device(s) concerned). */
  readonly hostname: string;
  readonly organization: string | null;
  /** For variances about a matched pair; null otherwise. */
  readonly matchQuality: MatchQuality | null;
  readonly devices: readonly VarianceDeviceRef[];
  /** The values that differ (or that made the rule fire), JSON-serializable. */
  readonly evidence: Readonly<Record<string, unknown>>;
  /** One line telling a technician what to do. */
  readonly hint: string;
}

/** A link between the two tools' organizations, kept in the database and edited through the API. */
export interface OrganizationLink {
  readonly threatlockerOrganization: string;
  readonly ninjaOrganization: string;
  /** `link`: the two are one customer; `never`: never link them, even when their names match. */
  readonly kind: 'link' | 'never';
}

/** Settings of a check (config: VARIANCE_STALE_DAYS, VARIANCE_SPARE_ALLOWED_LOCATIONS). */
export interface CheckSettings {
  /** A device not seen for more than this many days is stale: never reported missing. */
  readonly staleDays: number;
  /** NinjaOne locations whose spare devices may keep ThreatLocker (exact names, case-insensitive). */
  readonly spareAllowedLocations: readonly string[];
}

/**
 * How the organizations of a pair relate (docs/variances.md, "Organizations"):
 * `linked` — one customer by the organization mapping; `unmapped` — at least one side's
 * organization is linked to nothing; `moved` — both are linked, but to other organizations
 * (the device moved customer in one tool only: SITE_MISMATCH).
 */
export type OrganizationRelation = 'linked' | 'unmapped' | 'moved';

/** A security-agent computer paired with an RMM device. */
export interface Pair {
  readonly security: DayDevice;
  readonly rmm: DayDevice;
  /** `cross_org` whenever the organizations are not linked; otherwise the name match. */
  readonly quality: MatchQuality;
  /** `truncated`: the RMM name is a 15-character NetBIOS name that starts the security name. */
  readonly nameMatch: 'exact' | 'truncated';
  readonly organizations: OrganizationRelation;
}

/**
 * One vendor's part in matching and the rules, in `vendors/<vendor>/variance-rules.ts`. Every
 * vendor implements all of it; a member that means nothing for a vendor returns the neutral
 * value (null, false), so a third tool is a new module, not a change to matching.
 */
export interface VendorVarianceRules {
  readonly vendor: VendorKey;
  /** The product name hints use ("Rename in ThreatLocker …"). */
  readonly label: string;
  /** The exact name key: the canonical hostname as stored. */
  readonly nameKey: (device: DayDevice) => string;
  /** Length at which this vendor may store a name cut short (NetBIOS: 15); null when it never does. */
  readonly truncationLength: number | null;
  /** The key under which this device's name may be a cut-short longer name; null when it is complete. */
  readonly truncatedNameKey: (device: DayDevice) => string | null;
  /** Whether the device should have a counterpart in the other tool (reported missing when it has none). */
  readonly expectsCounterpart: (device: DayDevice) => boolean;
  readonly isSpare: (device: DayDevice) => boolean;
  /**
   * A secondary record of a machine (a host-monitored VM guest): when an agent record of the same
   * name exists in the same organization, the two are one machine, not duplicates.
   */
  readonly isSecondaryView: (device: DayDevice) => boolean;
}

/** Everything a check over one day reads: both fleets of that day, the links, the settings. */
export interface CheckInput {
  /** The snapshot date (YYYY-MM-DD); staleness is measured from the end of it. */
  readonly date: string;
  readonly devices: Readonly<Record<VendorKey, readonly DayDevice[]>>;
  readonly links: readonly OrganizationLink[];
  readonly settings: CheckSettings;
  /**
   * Organization names known to exist on the day besides those `devices` carry. A check over
   * part of a day (the devices around one synced computer) passes the whole day's names, so the
   * automatic organization mapping is the one a check over the whole day builds.
   */
  readonly organizations?: Readonly<Partial<Record<VendorKey, readonly string[]>>> | undefined;
}

/** What a check over one day found (pure; nothing stored). */
export interface CheckResult {
  readonly variances: readonly FoundVariance[];
  readonly pairs: readonly Pair[];
  /** Devices not seen within `staleDays`: never reported missing; listed by a data-quality report. */
  readonly stale: readonly DayDevice[];
  /** Organizations of either tool linked to none of the other's. */
  readonly unmappedOrganizations: Readonly<Record<VendorKey, readonly string[]>>;
}
