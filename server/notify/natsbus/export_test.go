package natsbus

// PublishRaw publishes data on b's subject as is, for tests.
func PublishRaw(b *Bus, data []byte) error {
	if err := b.conn.Publish(b.subject, data); err != nil {
		return err
	}
	return b.conn.Flush()
}
