import type { AnalyzeContext } from '../../../src/config/index.js';

/** Bookinfo's services as the registry would see them (reviews has v1..v3, the rest v1). */
export const BOOKINFO: AnalyzeContext = {
  services: [
    { hostname: 'productpage.default.svc.cluster.local', endpoints: [{ labels: { app: 'productpage', version: 'v1' } }] },
    { hostname: 'details.default.svc.cluster.local', endpoints: [{ labels: { app: 'details', version: 'v1' } }] },
    { hostname: 'ratings.default.svc.cluster.local', endpoints: [{ labels: { app: 'ratings', version: 'v1' } }] },
    {
      hostname: 'reviews.default.svc.cluster.local',
      endpoints: ['v1', 'v2', 'v3'].map((version) => ({ labels: { app: 'reviews', version } })),
    },
  ],
};

export const BOOKINFO_DIR = new URL('../../../../shared/istio-samples/bookinfo/', import.meta.url);
