/**
 * @module status-body
 * The widget API's JSON answer (docs/api.md), shared by the gateway that writes it and the widget
 * that reads it. Types only: nothing here reaches the widget bundle.
 */

/** The widget API's JSON body (docs/api.md). */
export interface StatusBody {
  status: 'indicator' | 'no-record' | 'error';
  nhsNumber: string | null;
  assessmentDate: string | null;
  checkedAt: string | null;
  messageId: string | null;
  code: string;
  smspCode: string;
  display: string;
}
