import type { MediaRejectReason } from '@pronielts/shared/contracts';

/**
 * An item-level failure: the source or its content is unusable. It is recorded with its reason and the
 * stage goes on with the other items (the stage still exits 0). Stage-level failures are StageErrors.
 */
export class ItemRejected extends Error {
  readonly reason: MediaRejectReason;

  constructor(reason: MediaRejectReason, detail: string) {
    super(detail);
    this.name = 'ItemRejected';
    this.reason = reason;
  }
}
