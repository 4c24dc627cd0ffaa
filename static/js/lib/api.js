/**
 * The only module that calls fetch(): every request to the server goes
 * through here, so errors and offline behaviour are handled in one place.
 * Failures throw an ApiError whose `offline` says whether the network (not
 * the server) failed.
 */
import {isSharedDevice} from './shared-device.js';

export class ApiError extends Error {
  constructor(message, {status = 0, offline = false} = {}) {
    super(message);
    this.status = status;
    this.offline = offline;
  }
}

async function request(method, url, {body, auth} = {}) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) headers.Authorization = `Bearer ${auth.device}.${auth.credential}`;
  let response;
  try {
    response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch {
    throw new ApiError('No connection', {offline: true});
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(data?.message || `Server answered ${response.status}`, {status: response.status});
  return data;
}

/** The expanded schedule of the protocol new plans start with (precached). */
export async function getSchedule(protocolId = null) {
  return request('GET', protocolId ? `/protocols/${encodeURIComponent(protocolId)}.json` : '/protocol.json');
}

export function registerPlan(body) {
  return request('POST', '/api/plans', {body});
}

export function syncPlan(planId, auth, events, cursor) {
  // On a shared device the worker must not queue ticks for Background Sync
  // (its queue outlives the tab): the marker keeps the request out of its route.
  const url = `/api/plans/${planId}/sync${isSharedDevice() ? '?ephemeral=1' : ''}`;
  return request('POST', url, {auth, body: {events, cursor}});
}

export function createJoinLink(planId, auth) {
  return request('POST', `/api/plans/${planId}/join-tokens`, {auth, body: {}});
}

export function joinPlan(body) {
  return request('POST', '/api/join', {body});
}

/** The plan's linked devices: [{device_id, name, added_ms, last_seen_ms, this_device}]. */
export async function listDevices(planId, auth) {
  return (await request('GET', `/api/plans/${planId}/devices`, {auth})).devices;
}

/** Unlink another of the plan's devices (a lost phone). */
export function removeDevice(planId, auth, deviceId) {
  return request('DELETE', `/api/plans/${planId}/devices/${encodeURIComponent(deviceId)}`, {auth});
}

export function deletePlan(planId, auth) {
  return request('DELETE', `/api/plans/${planId}`, {auth});
}

export function calendarLinkState(planId, auth) {
  return request('GET', `/api/plans/${planId}/calendar-link`, {auth});
}

/** A new private feed link (the old one stops working). */
export function makeCalendarLink(planId, auth, explicitTitles) {
  return request('POST', `/api/plans/${planId}/calendar-link`, {auth, body: {explicit_titles: explicitTitles}});
}

export function setCalendarTitles(planId, auth, explicitTitles) {
  return request('PATCH', `/api/plans/${planId}/calendar-link`, {auth, body: {explicit_titles: explicitTitles}});
}

/** The server's VAPID public key; a 404 means push is off on this server. */
export function pushKey() {
  return request('GET', '/api/push/key');
}

export function savePushSubscription(planId, auth, subscription, prefs) {
  return request('PUT', `/api/plans/${planId}/push`, {auth, body: {subscription, prefs}});
}

export function removePushSubscription(planId, auth) {
  return request('DELETE', `/api/plans/${planId}/push`, {auth});
}

export function checkInvitation(code) {
  return request('POST', '/api/invitations/check', {body: {code}});
}

export function redeemInvitation(body) {
  return request('POST', '/api/invitations/redeem', {body});
}

/** Unlink this device; the answer also tells the browser to clear the app's data. */
export function forgetDevice(planId, auth) {
  return request('POST', `/api/plans/${planId}/forget`, {auth, body: {}});
}
