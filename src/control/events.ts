// The one Emitter/Disposable lives in internal/ (security/ needs it too and sits below control/).
export { Emitter, type Disposable } from '../internal/events.js';
