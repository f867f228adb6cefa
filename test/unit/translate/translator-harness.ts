/**
 * An IncrementalTranslator over meshlet's default service registry, fed from plain lists: what
 * the SnapshotBuilder does with the store and the announcement registry.
 */
import type { IstioResource } from '../../../src/config/types.js';
import type { Announcement } from '../../../src/control/model.js';
import { AnnouncementList, defaultServiceRegistry } from '../../../src/control/registry/index.js';
import { IncrementalTranslator, type IncrementalResult } from '../../../src/control/translate/incremental.js';

export interface TranslatorHarness {
  translator: IncrementalTranslator;
  /** Sets both inputs and translates the change. */
  update(resources: readonly IstioResource[], announcements: readonly Announcement[]): IncrementalResult;
}

export function translatorHarness(domainSuffix = 'cluster.local'): TranslatorHarness {
  let resources: readonly IstioResource[] = [];
  const announcements = new AnnouncementList();
  const services = defaultServiceRegistry({ list: () => resources, onChange: () => ({ dispose() {} }) }, announcements, domainSuffix);
  const translator = new IncrementalTranslator(domainSuffix, services);
  return {
    translator,
    update(r, a) {
      resources = r;
      if (a !== announcements.list()) announcements.set(a);
      return translator.update(r);
    },
  };
}
