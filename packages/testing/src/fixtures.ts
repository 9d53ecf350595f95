/** Fixture paths and readers: @signals/fixtures, re-exported for the tests that already use @signals/testing. */
export * from '@signals/fixtures';
