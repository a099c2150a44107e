-- Hotspot alerts (热点诉求, services/metrics/hotspots): HotspotAlertRaised
-- events live on streams of their own (hotspot-<uuid>), not in any
-- complaint's projection. The supervision office's list of recent alerts
-- reads them from the events table by type and time; this partial index
-- holds only those few rows, so the list never scans the store.
CREATE INDEX events_hotspot_alerts ON events (occurred_at DESC)
    WHERE type = 'HotspotAlertRaised';
