// Approvals and directives (docs/protocol.md, "Approvals and directives"): the event names, the
// shapes, their limits and their validation, shared by the server, the CLI and the dashboard.
import { MAX_NAME_LENGTH, MAX_TITLE_LENGTH } from './constants.ts';
import { invalid } from './errors.ts';
import { isObject, quote } from './validate.ts';
import type { JsonObject } from './types.ts';

export const APPROVAL_REQUESTED = 'approval.requested';
export const APPROVAL_DECIDED = 'approval.decided';
export const DIRECTIVE = 'directive';
export const DIRECTIVE_DELIVERED = 'directive.delivered';

export const APPROVAL_DECISIONS = ['approve', 'deny'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

/** Ids name approvals in URLs; Claude Code's tool_use_id (`toolu_01…`) fits. */
export const APPROVAL_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/;
export const MAX_APPROVAL_DETAIL_LENGTH = 10_000;
export const MAX_NOTE_LENGTH = 2_000;
export const MAX_DIRECTIVE_LENGTH = 4_000;
/** setTimeout holds at most 2^31 ms (24.8 days); a week is more than any approval should wait. */
export const MAX_APPROVAL_TIMEOUT_S = 7 * 24 * 3600;

/** One pending approval as `control.approvals` lists it. */
export interface PendingApproval {
  approvalId: string;
  title: string;
  requestedAt: string;
  expiresAt?: string;
  /** What a timeout decides; present only with expiresAt. */
  onTimeout?: ApprovalDecision;
  toolName?: string;
  /** The seq of the approval.requested event, which holds the detail and the args. */
  seq: number;
}

/** What `POST /api/runs/:id/approvals/:approvalId` takes. */
export interface DecisionInput {
  decision: ApprovalDecision;
  note?: string;
  by?: string;
}

/** A pending approval with its run, as `GET /api/approvals` lists it. */
export interface ListedApproval extends PendingApproval {
  runId: string;
  runTitle: string;
}

/** A decision as the control channel carries it to the producer. */
export interface ApprovalMessage {
  action: 'approval';
  approvalId: string;
  decision: ApprovalDecision;
  note?: string;
}

export interface DirectiveMessage {
  action: 'directive';
  directiveId: string;
  text: string;
}

function optionalText(body: JsonObject, field: string, max: number, path: string): void {
  const value = body[field];
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length > max)
    throw invalid(
      `${path}.${field} must be a string of at most ${max} characters; got ${quote(value)}`,
    );
}

export function isApprovalDecision(value: unknown): value is ApprovalDecision {
  return (APPROVAL_DECISIONS as readonly unknown[]).includes(value);
}

export function validateApprovalId(value: unknown, field = 'approvalId'): string {
  if (typeof value !== 'string' || !APPROVAL_ID_PATTERN.test(value))
    throw invalid(
      `${field} must be 1-128 letters, digits, _ . : - (not starting with . : -); got ${quote(value)}`,
    );
  return value;
}

/** The payload of an approval.requested event; throws a ValidationError naming the field. */
export function validateApprovalRequest(payload: JsonObject, path = 'event.payload'): void {
  validateApprovalId(payload.approvalId, `${path}.approvalId`);
  if (typeof payload.title !== 'string' || payload.title === '')
    throw invalid(`${path}.title must be a non-empty string; got ${quote(payload.title)}`);
  optionalText(payload, 'title', MAX_TITLE_LENGTH, path);
  optionalText(payload, 'detail', MAX_APPROVAL_DETAIL_LENGTH, path);
  optionalText(payload, 'toolName', MAX_NAME_LENGTH, path);
  const { timeoutS, onTimeout } = payload;
  if (
    timeoutS !== undefined &&
    (typeof timeoutS !== 'number' || !(timeoutS > 0) || timeoutS > MAX_APPROVAL_TIMEOUT_S)
  )
    throw invalid(
      `${path}.timeoutS must be a number of seconds above 0 and at most ${MAX_APPROVAL_TIMEOUT_S}; got ${quote(timeoutS)}`,
    );
  if (onTimeout !== undefined && !isApprovalDecision(onTimeout))
    throw invalid(
      `${path}.onTimeout must be one of ${APPROVAL_DECISIONS.join(', ')}; got ${quote(onTimeout)}`,
    );
}

export function validateDecision(body: unknown): DecisionInput {
  if (!isObject(body))
    throw invalid(
      `decision body must be {"decision": "approve"|"deny", "note"?: string}; got ${quote(body)}`,
    );
  for (const key of Object.keys(body))
    if (key !== 'decision' && key !== 'note' && key !== 'by')
      throw invalid(`decision body has an unknown field ${quote(key)}`);
  if (!isApprovalDecision(body.decision))
    throw invalid(
      `decision must be one of ${APPROVAL_DECISIONS.join(', ')}; got ${quote(body.decision)}`,
    );
  optionalText(body, 'note', MAX_NOTE_LENGTH, 'decision');
  optionalText(body, 'by', MAX_NAME_LENGTH, 'decision');
  const input: DecisionInput = { decision: body.decision };
  if (body.note !== undefined && body.note !== '') input.note = body.note as string;
  if (body.by !== undefined && body.by !== '') input.by = body.by as string;
  return input;
}

export function validateDirective(body: unknown): { text: string; by?: string } {
  if (!isObject(body)) throw invalid(`directive body must be {"text": string}; got ${quote(body)}`);
  for (const key of Object.keys(body))
    if (key !== 'text' && key !== 'by')
      throw invalid(`directive body has an unknown field ${quote(key)}`);
  const { text } = body;
  if (typeof text !== 'string' || text.trim() === '')
    throw invalid(`directive text must be a non-empty string; got ${quote(text)}`);
  if (text.length > MAX_DIRECTIVE_LENGTH)
    throw invalid(
      `directive text must be at most ${MAX_DIRECTIVE_LENGTH} characters; got ${text.length}`,
    );
  optionalText(body, 'by', MAX_NAME_LENGTH, 'directive');
  return typeof body.by === 'string' && body.by !== '' ? { text, by: body.by } : { text };
}

/** A control-channel message of the approval family, or undefined. */
export function parseChannelMessage(
  value: JsonObject,
): ApprovalMessage | DirectiveMessage | undefined {
  if (value.action === 'approval') {
    if (typeof value.approvalId !== 'string' || !isApprovalDecision(value.decision))
      return undefined;
    const message: ApprovalMessage = {
      action: 'approval',
      approvalId: value.approvalId,
      decision: value.decision,
    };
    if (typeof value.note === 'string') message.note = value.note;
    return message;
  }
  if (value.action === 'directive') {
    if (typeof value.directiveId !== 'string' || typeof value.text !== 'string') return undefined;
    return { action: 'directive', directiveId: value.directiveId, text: value.text };
  }
  return undefined;
}

/**
 * The approval family's rules on ingest: an approval.requested must be well formed, and
 * decisions and directives are written by the server alone (so the first decision wins and every
 * directive is pushed to the producer); producers decide and direct through their routes.
 */
export function validateControlEvent(
  input: { type: string; payload?: JsonObject },
  path = 'event',
): void {
  if (input.type === APPROVAL_REQUESTED)
    validateApprovalRequest(input.payload ?? {}, `${path}.payload`);
  else if (input.type === APPROVAL_DECIDED)
    throw invalid(
      `${path}.type ${APPROVAL_DECIDED} is written by the server; decide with POST /api/runs/:runId/approvals/:approvalId`,
    );
  else if (input.type === DIRECTIVE)
    throw invalid(
      `${path}.type ${DIRECTIVE} is written by the server; send one with POST /api/runs/:runId/directives`,
    );
}
