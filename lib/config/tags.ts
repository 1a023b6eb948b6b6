/**
 * The tag that carries a target group's short name (`app`, `api`, …) into the template: the stack
 * writes it, the local proxy reads it (`--targets app=…`). Kept free of CDK imports: the proxy
 * loads this file.
 */
export const TARGET_GROUP_NAME_TAG = 'albatross:target-group';
