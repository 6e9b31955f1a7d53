// Temporary: keeps the library target non-empty until the component lands.
