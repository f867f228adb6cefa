// Bookinfo-shaped inputs built by hand as validated Istio resources (mirrors
// /work/shared/istio-samples/bookinfo), plus helpers shared by the translate tests.
import type { DestinationRule, IstioResource, ServiceEntry, VirtualService, WorkloadEntry } from '../../../src/config/types.js';
import type { Announcement, ServiceModel } from '../../../src/control/model.js';
import { mergeAnnouncements, servicesFromConfig } from '../../../src/control/services.js';
import { translate, type GeneratedResource, type TranslateOutput } from '../../../src/control/translate/index.js';
import { TYPE_URL } from '../../../src/xds/type-urls.js';

export const meta = (name: string, namespace = 'default') => ({ name, namespace });

export function vs(name: string, spec: VirtualService['spec'], namespace = 'default'): VirtualService {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: meta(name, namespace), spec };
}
/** The resource with `metadata.annotations` set. */
export function annotated<T extends IstioResource>(r: T, annotations: Record<string, string>): T {
  return { ...r, metadata: { ...r.metadata, annotations } };
}
export function dr(name: string, spec: DestinationRule['spec'], namespace = 'default'): DestinationRule {
  return { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: meta(name, namespace), spec };
}
export function se(name: string, spec: ServiceEntry['spec'], namespace = 'default'): ServiceEntry {
  return { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: meta(name, namespace), spec };
}
export function we(name: string, spec: WorkloadEntry['spec'], namespace = 'default'): WorkloadEntry {
  return { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', metadata: meta(name, namespace), spec };
}

const subsets = (...versions: string[]) => versions.map((v) => ({ name: v, labels: { version: v } }));

/** destination-rule-all.yaml */
export const bookinfoRules: DestinationRule[] = [
  dr('productpage', { host: 'productpage', subsets: subsets('v1') }),
  dr('reviews', { host: 'reviews', subsets: subsets('v1', 'v2', 'v3') }),
  dr('ratings', { host: 'ratings', subsets: subsets('v1', 'v2', 'v2-mysql', 'v2-mysql-vm') }),
  dr('details', { host: 'details', subsets: subsets('v1', 'v2') }),
];

/** virtual-service-reviews-80-20.yaml */
export const reviews8020 = vs('reviews', {
  hosts: ['reviews'],
  http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 80 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 20 }] }],
});

/** virtual-service-reviews-jason-v2-v3.yaml */
export const reviewsJason = vs('reviews', {
  hosts: ['reviews'],
  http: [
    { match: [{ headers: { 'end-user': { exact: 'jason' } } }], route: [{ destination: { host: 'reviews', subset: 'v2' } }] },
    { route: [{ destination: { host: 'reviews', subset: 'v3' } }] },
  ],
});

/** virtual-service-ratings-test-abort.yaml, percent normalized by the loader. */
export const ratingsAbort = vs('ratings', {
  hosts: ['ratings'],
  http: [
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      fault: { abort: { percentage: { value: 100 }, httpStatus: 500 } },
      route: [{ destination: { host: 'ratings', subset: 'v1' } }],
    },
    { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
  ],
});

/** virtual-service-ratings-test-delay.yaml */
export const ratingsDelay = vs('ratings', {
  hosts: ['ratings'],
  http: [
    {
      match: [{ headers: { 'end-user': { exact: 'jason' } } }],
      fault: { delay: { percentage: { value: 100 }, fixedDelay: '7s' } },
      route: [{ destination: { host: 'ratings', subset: 'v1' } }],
    },
    { route: [{ destination: { host: 'ratings', subset: 'v1' } }] },
  ],
});

/** egress-rule-google-apis.yaml */
export const googleapis = se('googleapis', {
  hosts: ['www.googleapis.com'],
  ports: [{ number: 443, name: 'https', protocol: 'HTTP' }],
  location: 'MESH_EXTERNAL',
  resolution: 'DNS',
});

let ip = 10;
function announce(service: string, version: string, port = 9080, locality?: string): Announcement {
  const a: Announcement = {
    nodeId: `${service}-${version}-${ip}`,
    service,
    namespace: 'default',
    labels: { app: service, version },
    serviceAccount: `bookinfo-${service}`,
    address: `10.0.0.${ip++}`,
    ports: [{ number: port, name: 'http' }],
  };
  if (locality) a.locality = locality;
  return a;
}

/** Running bookinfo workloads, as mesh clients announce them. */
export const bookinfoAnnouncements: Announcement[] = [
  announce('productpage', 'v1'),
  announce('details', 'v1'),
  announce('reviews', 'v1', 9080, 'us-east/a/1'),
  announce('reviews', 'v2', 9080, 'us-east/b'),
  announce('reviews', 'v3', 9080, 'us-east/b'),
  announce('ratings', 'v1'),
];

export function bookinfoServices(resources: readonly IstioResource[] = []): ServiceModel[] {
  return mergeAnnouncements(servicesFromConfig(resources), bookinfoAnnouncements);
}

/** Translates and indexes the result by type and name. */
export function run(resources: IstioResource[], services: ServiceModel[] = bookinfoServices(resources)) {
  const out: TranslateOutput = translate({ resources, services });
  const get = (url: string, name: string): Record<string, any> => {
    const r = out.get(url as never)?.find((x: GeneratedResource) => x.name === name);
    if (!r) throw new Error(`no ${url} named ${name}; have ${out.get(url as never)?.map((x) => x.name).join(', ')}`);
    return r.message as Record<string, any>;
  };
  return {
    out,
    listener: (n: string) => get(TYPE_URL.listener, n),
    routeConfig: (n: string) => get(TYPE_URL.route, n),
    cluster: (n: string) => get(TYPE_URL.cluster, n),
    endpoints: (n: string) => get(TYPE_URL.endpoint, n),
    names: (url: string) => (out.get(url as never) ?? []).map((x) => x.name),
  };
}

export const REVIEWS = 'reviews.default.svc.cluster.local';
export const RATINGS = 'ratings.default.svc.cluster.local';
