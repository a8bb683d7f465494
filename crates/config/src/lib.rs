//! Ocean's configuration: typed settings from defaults, `config.yaml`, `.env` and `OCEAN__`
//! environment variables, and the `.port/` folder (spec and default resources).
