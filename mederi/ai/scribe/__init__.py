"""The AI scribe: a visit recording becomes a transcript with speaker turns and a draft note."""
